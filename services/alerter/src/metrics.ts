import { Counter, type ServiceMetrics } from '@opentrail/observability';
import type { RuleSet } from '@opentrail/rules';
import { outboundMetrics } from '@opentrail/webhooks';

/**
 * The alerter's metrics (opentrail_alerter_*). Per-rule evaluations and matches are counted in
 * plain numbers on the compiled rules and read at scrape time: a labelled counter increment per
 * rule per event would cost more than most rules do.
 */
export function alerterMetrics(metrics: ServiceMetrics, current: () => RuleSet) {
  const perRule = (name: string, help: string, read: (stats: { evaluations: number; matches: number }) => number) =>
    new Counter({
      name: metrics.name(name),
      help,
      labelNames: ['rule'],
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const rule of current().rules) this.inc({ rule: rule.id }, read(rule.stats));
      },
    });
  perRule('rule_evaluations_total', 'Events tested against a rule (after the eventName/eventSource index)', (s) => s.evaluations);
  perRule('rule_matches_total', 'Events a rule matched', (s) => s.matches);
  return {
    rulesLoaded: metrics.gauge('rules_loaded', 'Rules in force, by kind', ['kind'], function collect() {
      const counts = current().countsByKind();
      for (const [kind, n] of Object.entries(counts)) this.set({ kind }, n);
    }),
    ruleFileProblems: metrics.gauge('rule_file_problems', 'Problems found in rule files by the last load (files with problems keep their previous rules)'),
    ruleReloads: metrics.counter('rule_reloads_total', 'Rule reloads, by outcome', ['outcome']),
    ruleErrors: metrics.counter('rule_errors_total', 'Rule evaluations that threw (the rule is skipped for that event)', ['rule']),
    alerts: metrics.counter('alerts_total', 'Alerts fired, by rule and severity', ['rule', 'severity']),
    suppressed: metrics.counter('alerts_suppressed_total', 'Matches not alerted because an alert for the same rule and group is recent', ['rule']),
    lateEvents: metrics.counter('late_events_total', 'Events older than the watermark (not counted toward thresholds and Insights)'),
    insights: metrics.counter('insights_total', 'Insights records emitted', ['type', 'state']),
    evaluationSeconds: metrics.histogram('rule_evaluation_seconds', 'Time to evaluate one event against the rules', [], [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01]),
    restoreSeconds: metrics.histogram('state_restore_seconds', 'Time to restore a partition\'s window state from the changelog', [], [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30]),
    webhookDeliveries: metrics.counter('webhook_deliveries_total', 'Alerts delivered to webhook targets, by target and outcome (sent, failed)', ['target', 'outcome']),
    webhookAttempts: metrics.counter('webhook_attempts_total', 'Webhook requests, by target and result (HTTP status or error code)', ['target', 'result']),
    snsPublished: metrics.counter('sns_published_total', 'Alerts published to SNS, by outcome (sent, failed)', ['outcome']),
    /** The delivery module's own metrics (opentrail_alerter_outbound_*): attempts, results and breaker state per webhook and SNS topic. */
    outbound: outboundMetrics(metrics),
    deadLettered: metrics.counter('alert_deliveries_dead_lettered_total', 'Alerts given up on an output (dead-lettered), by output', ['output']),
  };
}

export type AlerterMetrics = ReturnType<typeof alerterMetrics>;
