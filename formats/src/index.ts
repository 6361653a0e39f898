// Model file formats, read strictly (README.md): each reader takes a byte source (source.ts) and
// answers with a typed report; none writes, spawns or talks to the network. The path-taking entry
// points open a file-backed source (fileSource.ts, the package's only file-system calls).
export * from './source.js';
export { directorySource, fileSource } from './fileSource.js';
export * from './json.js';
export * from './safetensors.js';
export * from './pickle/index.js';
export * from './polyglot.js';
export * from './diffusers.js';
export * from './gguf/index.js';
