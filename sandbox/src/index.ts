// The sandbox (README.md): `runSandboxed` for one-shot workers; what both confine with
// (confinement.ts) and report about the host.
export {
  sandboxCapabilities,
  type ProcessLimits,
  type SandboxCapabilities,
  type SandboxIsolation,
} from './confinement.js';
export * from './runSandboxed.js';
