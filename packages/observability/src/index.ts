export { createLogger, type Logger } from './logger.js';
export { ServiceMetrics, LATENCY_BUCKETS, Counter, Gauge, Histogram, Registry } from './metrics.js';
export { startHealthServer, type Check, type Checks, type HealthServer, type HealthServerOptions } from './server.js';
export { transientCounter } from './transient.js';
