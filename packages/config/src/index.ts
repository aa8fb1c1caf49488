export { loadConfig, ConfigError, type EnvBinding, type LoadOptions, type Loaded } from './load.js';
export * from './common.js';
export { z } from 'zod';
