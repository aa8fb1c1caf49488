import type { Logger } from '@opentrail/observability';
import type { RuleSet } from '@opentrail/rules';
import { InfrastructureError, type InputRecord, type OutputMessage, type PartitionHandler, type TopicPartition } from '@opentrail/runtime';
import type { Alert, AvroSerde, EnrichedEvent } from '@opentrail/serde';
import { insightMessage } from './insightRecord.js';
import type { AlerterMetrics } from './metrics.js';
import { PartitionEvaluator, type EvaluationHooks, type EvaluatorOptions } from './partitionEvaluator.js';
import type { StateChangelog } from './stateChangelog.js';

export interface AlertEvaluationOptions {
  rules: () => RuleSet;
  evaluator: EvaluatorOptions;
  changelog: StateChangelog;
  alertSerde: AvroSerde<Alert>;
  enrichedSerde: AvroSerde<EnrichedEvent>;
  topics: { alerts: string; enriched: string };
  logger: Logger;
  metrics: AlerterMetrics;
  signal?: AbortSignal;
}

/**
 * The alerter's partition handler: restores a partition's window state when it is assigned,
 * evaluates each batch, and returns the alerts, the Insights records (into the enriched topic) and
 * the state changes as one set of outputs, which the runtime produces in the same transaction as
 * the offset commit.
 */
export class AlertEvaluation implements PartitionHandler<EnrichedEvent> {
  private readonly partitions = new Map<number, PartitionEvaluator>();
  private readonly hooks: EvaluationHooks;
  private readonly loggedRuleErrors = new Set<string>();

  constructor(private readonly options: AlertEvaluationOptions) {
    const m = options.metrics;
    this.hooks = {
      onAlert: (rule, alert) => m.alerts.inc({ rule: rule.id, severity: alert.severity }),
      onSuppressed: (rule) => m.suppressed.inc({ rule: rule.id }),
      onLate: () => m.lateEvents.inc(),
      onRuleError: (rule, err) => {
        m.ruleErrors.inc({ rule: rule.id });
        // Once per rule: an event stream can repeat the same oddity millions of times.
        if (!this.loggedRuleErrors.has(rule.id)) {
          this.loggedRuleErrors.add(rule.id);
          options.logger.error({ err, rule: rule.id, location: rule.location }, 'a rule threw while evaluating an event; it is skipped for such events');
        }
      },
      onEvaluated: (seconds) => m.evaluationSeconds.observe(seconds),
    };
  }

  async onAssigned(partitions: TopicPartition[]): Promise<void> {
    for (const { partition } of partitions) await this.restored(partition);
  }

  /** The partition's evaluator, restored from the changelog first if needed (a failed restore is retried with the batch). */
  private async restored(partition: number): Promise<PartitionEvaluator> {
    const existing = this.partitions.get(partition);
    if (existing) return existing;
    const started = performance.now();
    const entries = await this.options.changelog.restore(partition, this.options.signal);
    const evaluator = PartitionEvaluator.restore(entries, this.options.evaluator, this.hooks);
    this.partitions.set(partition, evaluator);
    this.options.metrics.restoreSeconds.observe((performance.now() - started) / 1000);
    this.options.logger.info({ partition, entries: entries.length }, 'window state restored');
    return evaluator;
  }

  onRevoked(partitions: TopicPartition[]): void {
    for (const { partition } of partitions) this.partitions.delete(partition);
  }

  async processBatch(records: InputRecord<EnrichedEvent>[], context: TopicPartition) {
    // Reading the partition's state back is the state topic's business, not the batch's data.
    const evaluator = await this.restored(context.partition).catch((err: unknown) => {
      throw err instanceof InfrastructureError ? err : new InfrastructureError(`restoring the window state of partition ${context.partition} failed`, { cause: err });
    });
    try {
      return this.evaluate(evaluator, records, context);
    } catch (err) {
      // The evaluator has taken part of the batch into its windows: a failed call must leave no
      // such state (the runtime re-runs the batch, or its halves, to isolate a bad event), so the
      // partition's state is read back from the changelog, as of the last committed batch.
      this.partitions.delete(context.partition);
      throw err;
    }
  }

  private evaluate(evaluator: PartitionEvaluator, records: InputRecord<EnrichedEvent>[], context: TopicPartition) {
    const now = Date.now();
    const result = evaluator.process(
      records.map((r) => r.value),
      this.options.rules(),
      now,
    );
    const { alertSerde, enrichedSerde, topics, changelog, metrics } = this.options;
    const outputs: OutputMessage[] = [];
    for (const alert of result.alerts) outputs.push({ topic: topics.alerts, key: alert.alertId, value: alertSerde.encode(alert) });
    for (const insight of result.insights) {
      const message = insightMessage(insight);
      outputs.push({ topic: topics.enriched, key: message.key, value: enrichedSerde.encode(message.value) });
      metrics.insights.inc({ type: insight.insightType, state: insight.state });
      this.options.logger.info({ state: insight.state, insightType: insight.insightType, series: insight.series, statistics: insight.statistics }, 'insight');
    }
    outputs.push(...changelog.messages(context.partition, result.changes, now));
    return { outputs };
  }

  /** Window state held across partitions, for the state_entries gauge. */
  stateSizes(): { thresholds: number; suppressions: number; series: number } {
    const total = { thresholds: 0, suppressions: 0, series: 0 };
    for (const e of this.partitions.values()) {
      const s = e.sizes;
      total.thresholds += s.thresholds;
      total.suppressions += s.suppressions;
      total.series += s.series;
    }
    return total;
  }
}
