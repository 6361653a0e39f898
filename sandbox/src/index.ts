// The sandbox (README.md): `runSandboxed` for one-shot workers, `spawnSandboxed` for long-lived
// servers over stdio, and what they report about the host.
export {
  sandboxCapabilities,
  type ProcessLimits,
  type SandboxCapabilities,
  type SandboxIsolation,
} from './confinement.js';
export * from './runSandboxed.js';
export * from './spawnSandboxed.js';
