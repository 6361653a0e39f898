export * from './runSandboxed.js';
