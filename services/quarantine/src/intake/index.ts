export * from './snapshot.js';
export * from './event.js';
