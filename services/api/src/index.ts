export { Operations, ApiError } from './operations.js';
export { verifySigV4, AuthError } from './sigv4.js';
export { configSchema, apiSchema, bindings } from './config.js';
