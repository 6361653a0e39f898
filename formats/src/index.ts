// Model file formats, read strictly (README.md): each reader takes the artifact's bytes and
// answers with a typed report; none writes, spawns or talks to the network.
export * from './json.js';
export * from './safetensors.js';
export * from './pickle/index.js';
export * from './polyglot.js';
export * from './diffusers.js';
export * from './gguf/index.js';
