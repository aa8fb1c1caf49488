export { createLogger, type Logger } from './logger.js';
export { ServiceMetrics, LATENCY_BUCKETS, Counter } from './metrics.js';
export { evaluateChecks, startHealthServer, type Check, type Checks, type HealthServer } from './server.js';
export { transientCounter } from './transient.js';
