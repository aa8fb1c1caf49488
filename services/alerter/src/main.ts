import { validateApiCallEvent } from '@opentrail/cloudtrail';
import { AwsClients } from '@opentrail/aws';
import { RuleSet, type RuleLibrary } from '@opentrail/rules';
import { main } from '@opentrail/runtime';
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
  topics: (config) => ({
    // Read, and written: Insights events go back to it.
    enriched: { writes: 'enriched', value: 'EnrichedEvent' },
    alerts: { writes: 'alerts', value: 'Alert' },
    dlq: { writes: 'dlq' },
    // The state topic has a partition per input partition, so one input partition's state has one writer.
    state: { table: 'alerterState', configured: config.alerter.stateTopic, partitions: { like: 'enriched' }, value: 'AlerterState' },
  }),
  async start(ctx) {
    const { config, logger, metrics, kafka, topics, serdes } = ctx;
    const c = config.alerter;
    // The metrics read the rule set at scrape time; the library reports its first load to them.
    const loaded: { library?: RuleLibrary } = {};
    const m = alerterMetrics(metrics, () => loaded.library?.ruleSet ?? RuleSet.empty());
    const rules = (loaded.library = startRuleLibrary(c, logger, m));
    ctx.onStop('rules', () => rules.close());

    const changelog = await ctx.start('state', new StateChangelog({ kafka, topic: topics.state, serde: serdes.state, consumerGroup: c.groupId, sourceTopic: topics.enriched, logger, metrics }));

    const evaluation = new AlertEvaluation({
      rules: () => rules.ruleSet,
      evaluator: {
        suppressionMs: c.suppressionSeconds * 1000,
        allowedLatenessMs: c.allowedLatenessSeconds * 1000,
        insights: c.insights.enabled ? c.insights : null,
      },
      changelog,
      alertSerde: serdes.alerts,
      enrichedSerde: serdes.enriched,
      topics,
      logger,
      metrics: m,
      signal: ctx.stopping,
    });
    metrics.gauge('state_entries', 'Window state held, by kind', ['kind'], function collect() {
      const sizes = evaluation.stateSizes();
      for (const [kind, n] of Object.entries(sizes)) this.set({ kind }, n);
    });

    await ctx.processor({
      groupId: c.groupId,
      topic: topics.enriched,
      serde: serdes.enriched,
      validate: (event, bytes) => validateApiCallEvent(event.event, bytes),
      deadLetterTopic: topics.dlq,
      handler: evaluation,
      // Alerts, Insights records, state changes and the offset commit: one transaction per batch.
      transactional: { idPrefix: c.groupId },
      consumer: { sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
    });

    if (c.webhooks.length > 0 || c.sns) {
      const aws = c.sns ? new AwsClients(config.aws) : undefined;
      if (aws) ctx.onStop('aws', () => aws.destroy());
      await ctx.processor(
        {
          groupId: `${c.groupId}-outputs`,
          topic: topics.alerts,
          serde: serdes.alerts,
          deadLetterTopic: topics.dlq,
          handler: new AlertOutputs({
            webhooks: c.webhooks,
            ...(c.sns && aws ? { sns: { client: aws.sns, topicArn: c.sns.topicArn, minSeverity: c.sns.minSeverity } } : {}),
            delivery: c.delivery,
            deadLetterTopic: topics.dlq,
            encode: (alert) => serdes.alerts.encode(alert),
            logger,
            metrics: m,
            signal: ctx.stopping,
          }),
          consumer: { sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
        },
        'outputs',
      );
    }
    logger.info({ topics, webhooks: c.webhooks.map((w) => w.name ?? w.url), sns: c.sns?.topicArn ?? null, insights: c.insights.enabled }, 'alerter running');
  },
});
