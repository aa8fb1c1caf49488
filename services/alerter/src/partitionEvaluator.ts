import { eventAccountId } from '@opentrail/cloudtrail';
import { RuleEvent, ThresholdWindow, type CompiledRule, type RuleSet, type ThresholdCrossing } from '@opentrail/rules';
import type { Alert, AlerterStateKind, EnrichedEvent } from '@opentrail/serde';
import { buildAlert } from './alert.js';
import { isInsightRecord } from './insightRecord.js';
import { closeMinutes, minuteOf, needsClosing, newSeries, observe, parseSeriesJson, seriesId, type InsightEvent, type InsightOptions, type SeriesState } from './insights.js';

export interface EvaluatorOptions {
  /** Default suppression after an alert (rules may set their own). */
  suppressionMs: number;
  /** Events this far behind the partition's newest event time still count toward windows. */
  allowedLatenessMs: number;
  insights: (InsightOptions & { maxSeries: number }) | null;
}

/** Observations for metrics and logs; all optional. */
export interface EvaluationHooks {
  onAlert?(rule: CompiledRule, alert: Alert): void;
  onSuppressed?(rule: CompiledRule): void;
  onLate?(): void;
  onRuleError?(rule: CompiledRule, error: unknown): void;
  onEvaluated?(seconds: number): void;
}

/** A piece of state that changed: its new JSON, or null when it is gone (a tombstone). */
export interface StateChange {
  kind: AlerterStateKind;
  key: string;
  state: string | null;
}

export interface Evaluation {
  alerts: Alert[];
  insights: InsightEvent[];
  changes: StateChange[];
}

interface OpenThreshold {
  window: ThresholdWindow;
  windowMs: number;
}

const WATERMARK_KEY = 'watermark';

/**
 * Everything the alerter holds for one input partition, and the logic that moves it: rule matches,
 * threshold windows, suppressions and Insights series, all in event time. The partition's
 * watermark is its newest event time minus the allowed lateness: minutes and windows close when it
 * passes them, so the same events in the same order always give the same alerts and records (what
 * makes a restart repeat nothing). Every change is reported (`changes`) for the changelog.
 */
export class PartitionEvaluator {
  private maxTime = -Infinity;
  /** Last minute closed for Insights (a sweep runs when the watermark passes the next). */
  private lastClosedMinute = -Infinity;
  private readonly thresholds = new Map<string, OpenThreshold>();
  private readonly suppressions = new Map<string, number>();
  private readonly series = new Map<string, SeriesState>();
  private readonly dirty = new Map<string, [AlerterStateKind, string]>();

  constructor(
    private readonly options: EvaluatorOptions,
    private readonly hooks: EvaluationHooks = {},
  ) {}

  /** Rebuilds the state a changelog holds (the latest value of each key). */
  static restore(entries: Iterable<{ kind: AlerterStateKind; key: string; state: string }>, options: EvaluatorOptions, hooks?: EvaluationHooks): PartitionEvaluator {
    const evaluator = new PartitionEvaluator(options, hooks);
    const openMinutes = new Map<string, SeriesState['open']>();
    for (const { kind, key, state } of entries) {
      // Insights state holds tables keyed by data: read back prototype-free (insights.ts, countTable).
      const value = (kind === 'INSIGHT_SERIES' || kind === 'INSIGHT_MINUTES' ? parseSeriesJson(state) : JSON.parse(state)) as Record<string, unknown>;
      switch (kind) {
        case 'WATERMARK':
          evaluator.maxTime = (value.maxTime as number | null) ?? -Infinity;
          evaluator.lastClosedMinute = (value.lastClosedMinute as number | null) ?? -Infinity;
          break;
        case 'THRESHOLD':
          evaluator.thresholds.set(key, { window: ThresholdWindow.fromJSON(value.matches), windowMs: value.windowMs as number });
          break;
        case 'SUPPRESSION':
          evaluator.suppressions.set(key, value.until as number);
          break;
        case 'INSIGHT_SERIES':
          evaluator.series.set(key, { ...(value as unknown as Omit<SeriesState, 'open'>), open: Object.create(null) as SeriesState['open'] });
          break;
        case 'INSIGHT_MINUTES':
          openMinutes.set(key, value as unknown as SeriesState['open']);
          break;
      }
    }
    for (const [key, open] of openMinutes) {
      const series = evaluator.series.get(key);
      if (series) series.open = open;
    }
    return evaluator;
  }

  /** The watermark: newest event time minus the allowed lateness. */
  get watermark(): number {
    return this.maxTime - this.options.allowedLatenessMs;
  }

  get sizes() {
    return { thresholds: this.thresholds.size, suppressions: this.suppressions.size, series: this.series.size };
  }

  /** Evaluates a batch of events in order; `now` stamps the alerts (firedAt). */
  process(events: readonly EnrichedEvent[], rules: RuleSet, now: number): Evaluation {
    const out: Evaluation = { alerts: [], insights: [], changes: [] };
    for (const value of events) this.one(value, rules, now, out);
    out.changes = this.takeChanges();
    return out;
  }

  private one(value: EnrichedEvent, rules: RuleSet, now: number, out: Evaluation): void {
    const event = new RuleEvent(value);
    const time = Date.parse(value.event.eventTime);
    const late = time < this.watermark;
    if (time > this.maxTime) {
      this.maxTime = time;
      this.mark('WATERMARK', WATERMARK_KEY);
    }

    const started = performance.now();
    const candidates = rules.candidates(event);
    for (let i = 0; i < candidates.length; i++) {
      const rule = candidates[i]!;
      rule.stats.evaluations++;
      let hit: boolean;
      try {
        hit = rule.matches(event);
      } catch (err) {
        // A rule that throws on an odd event must not stop the pipeline, nor the other rules.
        this.hooks.onRuleError?.(rule, err);
        continue;
      }
      if (hit) {
        rule.stats.matches++;
        this.matched(rule, event, time, late, now, out);
      }
    }
    this.hooks.onEvaluated?.((performance.now() - started) / 1000);

    if (this.options.insights && !isInsightRecord(value.event)) {
      if (late) this.hooks.onLate?.();
      else this.observeInsight(event, time);
    }
    this.advance(out);
  }

  private matched(rule: CompiledRule, event: RuleEvent, time: number, late: boolean, now: number, out: Evaluation): void {
    const groupKey = rule.groupKey(event);
    const key = `${rule.id}\u0000${groupKey}`;
    const until = this.suppressions.get(key);
    if (until !== undefined && time < until) {
      this.hooks.onSuppressed?.(rule);
      return;
    }
    const eventId = event.event.eventID;
    let crossing: ThresholdCrossing | undefined;
    const threshold = rule.threshold;
    if (threshold && threshold.count > 1) {
      if (late) {
        this.hooks.onLate?.();
        return;
      }
      let open = this.thresholds.get(key);
      if (!open) this.thresholds.set(key, (open = { window: new ThresholdWindow(), windowMs: threshold.windowMs }));
      open.windowMs = threshold.windowMs;
      crossing = open.window.add({ time, eventId }, threshold);
      this.mark('THRESHOLD', key);
      if (!crossing) return;
      this.thresholds.delete(key);
    } else {
      crossing = { windowStart: time, windowEnd: time, firstSeen: time, lastSeen: time, matches: [{ time, eventId }] };
    }
    const alert = buildAlert(rule, groupKey, crossing, event, now);
    const suppression = rule.suppressionMs ?? this.options.suppressionMs;
    if (suppression > 0) {
      this.suppressions.set(key, crossing.lastSeen + suppression);
      this.mark('SUPPRESSION', key);
    }
    out.alerts.push(alert);
    this.hooks.onAlert?.(rule, alert);
  }

  private observeInsight(event: RuleEvent, time: number): void {
    const e = event.event;
    if (!e.eventSource || !e.eventName) return;
    // CloudTrail Insights analyse management events (cloudtrail-spec.md §7.1).
    if (e.managementEvent === false || (e.eventCategory !== null && e.eventCategory !== 'Management')) return;
    const readOnly = e.readOnly ?? event.enrichment?.service?.readOnly ?? null;
    const write = readOnly === false;
    const errorCode = e.errorCode ? e.errorCode : null;
    if (!write && errorCode === null) return;
    const key = { accountId: eventAccountId(e), region: e.awsRegion, eventSource: e.eventSource, eventName: e.eventName };
    const id = seriesId(key);
    let series = this.series.get(id);
    if (!series) {
      this.evictIfFull();
      this.series.set(id, (series = newSeries(key, time)));
      this.mark('INSIGHT_SERIES', id);
    }
    // Only the open minutes change here: the baseline (the larger part) is written when a minute closes.
    if (observe(series, time, { write, errorCode, userIdentityArn: e.userIdentity?.arn ?? null, userAgent: e.userAgent })) this.mark('INSIGHT_MINUTES', id);
    else this.hooks.onLate?.();
  }

  /** Bounded memory: beyond maxSeries the least recently seen tenth of the series without an open episode goes. */
  private evictIfFull(): void {
    const max = this.options.insights!.maxSeries;
    if (this.series.size < max) return;
    const idle = [...this.series].filter(([, s]) => !s.rate.episode && !s.error.episode).sort((a, b) => a[1].lastSeen - b[1].lastSeen);
    for (const [id] of idle.slice(0, Math.max(1, Math.floor(max / 10)))) {
      this.series.delete(id);
      this.mark('INSIGHT_SERIES', id);
      this.mark('INSIGHT_MINUTES', id);
    }
  }

  /** When the watermark passes a minute: close Insights minutes, expire windows and suppressions. */
  private advance(out: Evaluation): void {
    const watermark = this.watermark;
    const closeThrough = minuteOf(watermark) - 1;
    if (!(closeThrough > this.lastClosedMinute)) return;
    this.lastClosedMinute = closeThrough;
    this.mark('WATERMARK', WATERMARK_KEY);
    if (this.options.insights) {
      for (const [id, series] of this.series) {
        if (!needsClosing(series, closeThrough)) continue;
        out.insights.push(...closeMinutes(series, closeThrough, this.options.insights));
        this.mark('INSIGHT_SERIES', id);
        this.mark('INSIGHT_MINUTES', id);
      }
    }
    for (const [key, open] of this.thresholds) {
      if (open.window.expire(watermark - open.windowMs)) {
        this.thresholds.delete(key);
        this.mark('THRESHOLD', key);
      }
    }
    for (const [key, until] of this.suppressions) {
      if (until <= watermark) {
        this.suppressions.delete(key);
        this.mark('SUPPRESSION', key);
      }
    }
  }

  private mark(kind: AlerterStateKind, key: string): void {
    this.dirty.set(`${kind}\u0000${key}`, [kind, key]);
  }

  private takeChanges(): StateChange[] {
    const changes: StateChange[] = [];
    for (const [kind, key] of this.dirty.values()) changes.push({ kind, key, state: this.stateOf(kind, key) });
    this.dirty.clear();
    return changes;
  }

  private stateOf(kind: AlerterStateKind, key: string): string | null {
    switch (kind) {
      case 'WATERMARK':
        return JSON.stringify({ maxTime: Number.isFinite(this.maxTime) ? this.maxTime : null, lastClosedMinute: Number.isFinite(this.lastClosedMinute) ? this.lastClosedMinute : null });
      case 'THRESHOLD': {
        const open = this.thresholds.get(key);
        return open ? JSON.stringify({ windowMs: open.windowMs, matches: open.window.toJSON() }) : null;
      }
      case 'SUPPRESSION': {
        const until = this.suppressions.get(key);
        return until === undefined ? null : JSON.stringify({ until });
      }
      case 'INSIGHT_SERIES': {
        const series = this.series.get(key);
        if (!series) return null;
        const { open: _open, ...baseline } = series;
        return JSON.stringify(baseline);
      }
      case 'INSIGHT_MINUTES': {
        const open = this.series.get(key)?.open;
        return open && Object.keys(open).length > 0 ? JSON.stringify(open) : null;
      }
    }
  }
}
