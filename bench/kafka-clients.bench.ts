/**
 * `npm run bench -- kafka-clients`: the Kafka clients side by side. The bench lives in the runtime
 * package (packages/runtime/bench/kafka-clients.bench.ts), the only package that may import a
 * Kafka client library; this entry keeps it among the project's benches.
 */
export {};
await import('../packages/runtime/bench/kafka-clients.bench.js');
