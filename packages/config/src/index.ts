export { loadConfig, ConfigError, CONFIG_SECTIONS, type EnvBinding, type LoadOptions, type Loaded } from './load.js';
export * from './common.js';
export { SERVICE_EXIT } from './exitCodes.js';
export { z } from 'zod';
