// The sandbox (README.md): one entry, `runSandboxed`, and what it reports about the host.
export * from './runSandboxed.js';
