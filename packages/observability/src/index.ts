export { createLogger, type Logger } from './logger.js';
export { ServiceMetrics, LATENCY_BUCKETS, Counter } from './metrics.js';
export { startHealthServer, type Check, type HealthServer } from './server.js';
export { transientCounter } from './transient.js';
