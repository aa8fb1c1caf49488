export * from './record.js';
export * from './content.js';
export * from './codec.js';
export * from './validate.js';
export * from './keys.js';
