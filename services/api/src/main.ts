import { topicName } from '@opentrail/config';
import { ensureTopics, main } from '@opentrail/runtime';
import { serdeFor } from '@opentrail/serde';
import { ApiServer } from './apiServer.js';
import { ApiState } from './apiState.js';
import { bindings, configSchema } from './config.js';
import { Operations } from './operations.js';

main({
  name: 'api',
  configSchema,
  bindings,
  async start({ config, logger, metrics, kafka, registry }) {
    const c = config.api;
    const topics = { deliveries: topicName(config, 'deliveries'), keys: c.keysTopic ?? `${config.topics.prefix}digester.keys` };
    // The API may start before the digester: the topics it reads exist from the start.
    await ensureTopics(kafka, [{ topic: topics.deliveries }], config.topics);
    await ensureTopics(kafka, [{ topic: topics.keys, partitions: 1, compacted: true }], config.topics);
    const state = new ApiState({
      kafka,
      keysTopic: topics.keys,
      deliveriesTopic: topics.deliveries,
      keySerde: serdeFor(registry, 'DigestPublicKey'),
      deliverySerde: serdeFor(registry, 'Delivery'),
      groupPrefix: 'opentrail-api',
      logger,
    });
    await state.start();
    const server = new ApiServer({
      port: c.port,
      host: c.host,
      secrets: new Map(c.accessKeys.map((k) => [k.accessKeyId, k.secretAccessKey])),
      maxClockSkewSeconds: c.maxClockSkewSeconds,
      maxBodyBytes: c.maxBodyBytes,
      operations: new Operations(config.trails, state),
      logger,
      metrics,
    });
    await server.start();
    if (c.accessKeys.length === 0) logger.warn('no api.accessKeys configured (OPENTRAIL_API_ACCESS_KEYS): every request is refused with 403 until one is');
    metrics.gauge('public_keys', 'Digest public keys known (from the keys topic)', [], function collect() {
      this.set(state.keys.size);
    });
    logger.info({ api: server.url, trails: config.trails.map((t) => t.name), keysTopic: topics.keys }, 'CloudTrail API listening');
    return {
      stop: async () => {
        await server.stop();
        await state.stop();
      },
      readiness: { keys: () => state.ready },
      liveness: { state: () => state.healthy },
    };
  },
});
