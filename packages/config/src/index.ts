export { loadConfig, ConfigError, type EnvBinding } from './load.js';
export * from './common.js';
export { SERVICE_EXIT } from './exitCodes.js';
export { z } from 'zod';
