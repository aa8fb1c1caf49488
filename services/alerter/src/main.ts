import { validateApiCallEvent } from '@opentrail/cloudtrail';
import { topicName } from '@opentrail/config';
import { AwsClients } from '@opentrail/aws';
import { RuleSet, type RuleLibrary } from '@opentrail/rules';
import { ensureTopics, main, StreamProcessor } from '@opentrail/runtime';
import { serdeFor, valueSubject, type Alert, type EnrichedEvent } from '@opentrail/serde';
import { AlertEvaluation } from './alertEvaluation.js';
import { AlertOutputs } from './alertOutputs.js';
import { bindings, configSchema } from './config.js';
import { alerterMetrics } from './metrics.js';
import { startRuleLibrary } from './rulePacks.js';
import { StateChangelog } from './stateChangelog.js';

main({
  name: 'alerter',
  configSchema,
  bindings,
  async start({ config, logger, metrics, kafka, registry }) {
    const c = config.alerter;
    const topics = {
      enriched: topicName(config, 'enriched'),
      alerts: topicName(config, 'alerts'),
      dlq: topicName(config, 'dlq'),
      state: c.stateTopic ?? topicName(config, 'alerter.state'),
    };
    await ensureTopics(kafka, [{ topic: topics.enriched }, { topic: topics.alerts }, { topic: topics.dlq }], config.topics);
    // The state topic has a partition per input partition, so one input partition's state has one writer.
    const admin = kafka.admin();
    await admin.connect();
    const inputPartitions = await admin.fetchTopicOffsets(topics.enriched).finally(() => admin.disconnect());
    await ensureTopics(kafka, [{ topic: topics.state, compacted: true, partitions: inputPartitions.length }], config.topics);

    const enrichedSerde = serdeFor(registry, 'EnrichedEvent');
    await enrichedSerde.register(valueSubject(topics.enriched));
    const alertSerde = serdeFor(registry, 'Alert');
    await alertSerde.register(valueSubject(topics.alerts));
    const stateSerde = serdeFor(registry, 'AlerterState');
    await stateSerde.register(valueSubject(topics.state));

    // The metrics read the rule set at scrape time; the library reports its first load to them.
    const loaded: { library?: RuleLibrary } = {};
    const m = alerterMetrics(metrics, () => loaded.library?.ruleSet ?? RuleSet.empty());
    const rules = (loaded.library = startRuleLibrary(c, logger, m));

    const stopping = new AbortController();
    const changelog = new StateChangelog({ kafka, topic: topics.state, serde: stateSerde, consumerGroup: c.groupId, sourceTopic: topics.enriched, logger, metrics });
    await changelog.start();

    const evaluation = new AlertEvaluation({
      rules: () => rules.ruleSet,
      evaluator: {
        suppressionMs: c.suppressionSeconds * 1000,
        allowedLatenessMs: c.allowedLatenessSeconds * 1000,
        insights: c.insights.enabled ? c.insights : null,
      },
      changelog,
      alertSerde,
      enrichedSerde,
      topics,
      logger,
      metrics: m,
      signal: stopping.signal,
    });
    metrics.gauge('state_entries', 'Window state held, by kind', ['kind'], function collect() {
      const sizes = evaluation.stateSizes();
      for (const [kind, n] of Object.entries(sizes)) this.set({ kind }, n);
    });

    const processor = new StreamProcessor<EnrichedEvent>({
      service: 'alerter',
      kafka,
      groupId: c.groupId,
      topic: topics.enriched,
      serde: enrichedSerde,
      validate: (event, bytes) => validateApiCallEvent(event.event, bytes),
      deadLetterTopic: topics.dlq,
      handler: evaluation,
      logger,
      metrics,
      // Alerts, Insights records, state changes and the offset commit: one transaction per batch.
      transactional: { idPrefix: c.groupId },
      consumer: { sessionTimeout: c.sessionTimeoutMs },
    });

    let outputs: StreamProcessor<Alert> | undefined;
    let aws: AwsClients | undefined;
    if (c.webhooks.length > 0 || c.sns) {
      if (c.sns) aws = new AwsClients(config.aws);
      outputs = new StreamProcessor<Alert>({
        service: 'alerter',
        kafka,
        groupId: `${c.groupId}-outputs`,
        topic: topics.alerts,
        serde: alertSerde,
        deadLetterTopic: topics.dlq,
        handler: new AlertOutputs({
          webhooks: c.webhooks,
          ...(c.sns && aws ? { sns: { client: aws.sns, topicArn: c.sns.topicArn, minSeverity: c.sns.minSeverity } } : {}),
          delivery: c.delivery,
          deadLetterTopic: topics.dlq,
          encode: (alert) => alertSerde.encode(alert),
          logger,
          metrics: m,
          signal: stopping.signal,
        }),
        logger,
        metrics,
        consumer: { sessionTimeout: c.sessionTimeoutMs },
      });
    }

    await processor.start();
    await outputs?.start();
    logger.info({ topics, webhooks: c.webhooks.map((w) => w.name ?? w.url), sns: c.sns?.topicArn ?? null, insights: c.insights.enabled }, 'alerter running');

    return {
      async stop() {
        rules.close();
        stopping.abort();
        await Promise.all([processor.stop(), outputs?.stop()]);
        await changelog.stop();
        aws?.destroy();
      },
      readiness: {
        consumer: () => processor.ready,
        ...(outputs ? { outputs: () => outputs.ready } : {}),
      },
      liveness: {
        consumer: () => processor.healthy,
        state: () => changelog.healthy,
        ...(outputs ? { outputs: () => outputs.healthy } : {}),
      },
    };
  },
});
