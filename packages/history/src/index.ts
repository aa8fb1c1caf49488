export * from './store/index.js';
export * from './query/index.js';
