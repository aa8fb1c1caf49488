import { deterministicUuid } from './alert.js';

/**
 * Insights-style anomaly detection (cloudtrail-spec.md §7). CloudTrail publishes no algorithm, so
 * this is opentrail's own, documented in services/alerter/README.md ("Insights method"):
 *
 * - A series is (account, region, eventSource, eventName). Per event-time minute it counts write
 *   management calls (ApiCallRateInsight) and calls that ended in an error (ApiErrorRateInsight).
 * - The baseline of each is an exponentially weighted mean and variance of the per-minute count,
 *   minutes without calls counting as 0, with a span of `baselineMinutes` (CloudTrail: about seven
 *   days) and a warm-up in which the weight is 1/n, so the first minutes give the plain mean.
 * - A closed minute is unusual when its count is at least `minCount`, at least `ratio` times the
 *   baseline mean, and at least `zScore` deviations above it, the deviation floored at √mean
 *   (Poisson noise) and at 1. Only a series with `minBaselineMinutes` of history can raise one.
 * - The first unusual minute emits a Start record; the first usual minute after it emits the End
 *   record, with the episode's average. Unusual minutes do not feed the baseline (an attack does not
 *   become normal while it lasts).
 */
export interface InsightOptions {
  baselineMinutes: number;
  minBaselineMinutes: number;
  minCount: number;
  zScore: number;
  ratio: number;
}

export type InsightType = 'ApiCallRateInsight' | 'ApiErrorRateInsight';
export const ATTRIBUTES = ['userIdentityArn', 'userAgent', 'errorCode'] as const;
type Attribute = (typeof ATTRIBUTES)[number];

/** Values tracked per attribute; CloudTrail reports the top five. */
const MAX_VALUES = 10;
const MAX_VALUES_PER_MINUTE = 50;
const TOP = 5;
/** A series idle for longer than this has decayed to nothing: the catch-up stops here. */
const MAX_CATCH_UP_MINUTES = 4 * 10_080;

export interface SeriesKey {
  accountId: string;
  region: string;
  eventSource: string;
  eventName: string;
}

type AttributeCounts = Record<Attribute, Record<string, number>>;

interface MinuteCounts {
  calls: number;
  errors: number;
  callAttributes: AttributeCounts;
  errorAttributes: AttributeCounts;
}

interface Baseline {
  mean: number;
  variance: number;
  /** Closed minutes in the baseline. */
  minutes: number;
  attributes: AttributeCounts;
}

interface Episode {
  sharedEventID: string;
  startMinute: number;
  minutes: number;
  total: number;
  baselineAverage: number;
  baselineDuration: number;
  baselineAttributes: AttributeCounts;
  insightAttributes: AttributeCounts;
}

interface Detector {
  baseline: Baseline;
  episode: Episode | null;
}

/** The state of one series: its baselines, open minutes and open episodes. Serialisable as JSON. */
export interface SeriesState {
  key: SeriesKey;
  /** Last closed minute (minutes since the epoch). */
  closedThrough: number;
  open: Record<string, MinuteCounts>;
  rate: Detector;
  error: Detector;
  /** Latest event time seen (ms), for evicting idle series. */
  lastSeen: number;
}

export interface InsightStatistics {
  baseline: { average: number };
  insight: { average: number };
  insightDuration: number;
  baselineDuration: number;
}

export interface InsightAttribution {
  attribute: Attribute;
  insight: { value: string; average: number }[];
  baseline: { value: string; average: number }[];
}

/** One Insights record to emit. */
export interface InsightEvent {
  state: 'Start' | 'End';
  insightType: InsightType;
  series: SeriesKey;
  sharedEventID: string;
  eventID: string;
  /** Start: the first unusual minute; End: the end of the last one. */
  eventTime: number;
  statistics: InsightStatistics;
  attributions: InsightAttribution[];
}

/** What one event contributes to its series. */
export interface CallFacts {
  write: boolean;
  errorCode: string | null;
  userIdentityArn: string | null;
  userAgent: string | null;
}

/**
 * A count table keyed by data (ARNs, user agents, error codes): without a prototype, so that
 * `constructor` or `__proto__` is a value like any other and `in` sees only what was counted
 * (issue 19, class 1). Tables stay plain enough for JSON, and come back the same way (parseSeriesJson).
 */
function countTable(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

const emptyAttributes = (): AttributeCounts => ({ userIdentityArn: countTable(), userAgent: countTable(), errorCode: countTable() });

/** A copy that keeps the tables prototype-free (structuredClone would give them Object.prototype back). */
function copyAttributes(attributes: AttributeCounts): AttributeCounts {
  const copy = emptyAttributes();
  for (const attribute of ATTRIBUTES) Object.assign(copy[attribute], attributes[attribute]);
  return copy;
}

/**
 * Series state as the changelog stores it, read back with every object prototype-free (see
 * countTable): JSON.parse alone would give the tables Object.prototype, where `constructor` exists.
 */
export function parseSeriesJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.assign(Object.create(null) as object, value) : value));
}
const emptyDetector = (): Detector => ({ baseline: { mean: 0, variance: 0, minutes: 0, attributes: emptyAttributes() }, episode: null });

export function minuteOf(time: number): number {
  return Math.floor(time / 60_000);
}

export function seriesId(key: SeriesKey): string {
  return `${key.accountId}|${key.region}|${key.eventSource}|${key.eventName}`;
}

export function newSeries(key: SeriesKey, firstTime: number): SeriesState {
  return { key, closedThrough: minuteOf(firstTime) - 1, open: Object.create(null) as SeriesState['open'], rate: emptyDetector(), error: emptyDetector(), lastSeen: firstTime };
}

function bump(counts: AttributeCounts, facts: CallFacts): void {
  const values: Record<Attribute, string> = { userIdentityArn: facts.userIdentityArn ?? 'null', userAgent: facts.userAgent ?? 'null', errorCode: facts.errorCode ?? 'null' };
  for (const attribute of ATTRIBUTES) {
    const table = counts[attribute];
    const value = values[attribute];
    if (value in table || Object.keys(table).length < MAX_VALUES_PER_MINUTE) table[value] = (table[value] ?? 0) + 1;
  }
}

/** Counts an event into its minute. Returns false when the minute is already closed (a late event). */
export function observe(series: SeriesState, time: number, facts: CallFacts): boolean {
  const minute = minuteOf(time);
  if (minute <= series.closedThrough) return false;
  if (!facts.write && facts.errorCode === null) return true;
  let counts = series.open[minute];
  if (!counts) series.open[minute] = counts = { calls: 0, errors: 0, callAttributes: emptyAttributes(), errorAttributes: emptyAttributes() };
  if (facts.write) {
    counts.calls++;
    bump(counts.callAttributes, facts);
  }
  if (facts.errorCode !== null) {
    counts.errors++;
    bump(counts.errorAttributes, facts);
  }
  if (time > series.lastSeen) series.lastSeen = time;
  return true;
}

/** Whether closing minutes up to `minute` could change anything (open minutes or an open episode). */
export function needsClosing(series: SeriesState, minute: number): boolean {
  if (minute <= series.closedThrough) return false;
  return Object.keys(series.open).length > 0 || series.rate.episode !== null || series.error.episode !== null;
}

/** Closes every minute up to and including `minute`; returns the records to emit, in time order. */
export function closeMinutes(series: SeriesState, minute: number, options: InsightOptions): InsightEvent[] {
  const out: InsightEvent[] = [];
  const floorAlpha = 2 / (options.baselineMinutes + 1);
  let m = series.closedThrough + 1;
  if (minute - m > MAX_CATCH_UP_MINUTES && Object.keys(series.open).every((k) => Number(k) > minute - MAX_CATCH_UP_MINUTES)) {
    // Long idle: whatever the baseline held has decayed; start its catch-up near the present.
    m = minute - MAX_CATCH_UP_MINUTES;
  }
  for (; m <= minute; m++) {
    const counts = series.open[m];
    delete series.open[m];
    step(series, 'ApiCallRateInsight', series.rate, m, counts?.calls ?? 0, counts?.callAttributes, floorAlpha, options, out);
    step(series, 'ApiErrorRateInsight', series.error, m, counts?.errors ?? 0, counts?.errorAttributes, floorAlpha, options, out);
  }
  series.closedThrough = minute;
  return out;
}

function unusual(count: number, baseline: Baseline, options: InsightOptions): boolean {
  if (count < options.minCount || count < options.ratio * baseline.mean) return false;
  const deviation = Math.max(Math.sqrt(baseline.variance), Math.sqrt(baseline.mean), 1);
  return count - baseline.mean >= options.zScore * deviation;
}

function step(series: SeriesState, type: InsightType, detector: Detector, minute: number, count: number, attributes: AttributeCounts | undefined, floorAlpha: number, options: InsightOptions, out: InsightEvent[]): void {
  const { baseline } = detector;
  const episode = detector.episode;
  if (episode) {
    if (unusual(count, baseline, options)) {
      episode.minutes++;
      episode.total += count;
      if (attributes) addInto(episode.insightAttributes, attributes);
      return;
    }
    out.push(record(series.key, type, 'End', episode, minute * 60_000, {
      baseline: { average: round(episode.baselineAverage) },
      insight: { average: round(episode.total / episode.minutes) },
      insightDuration: episode.minutes,
      baselineDuration: episode.baselineDuration,
    }, attributions(type, episode.insightAttributes, episode.minutes, episode.baselineAttributes)));
    detector.episode = null;
  } else if (baseline.minutes >= options.minBaselineMinutes && unusual(count, baseline, options)) {
    const started: Episode = {
      sharedEventID: deterministicUuid('insight', seriesId(series.key), type, minute),
      startMinute: minute,
      minutes: 1,
      total: count,
      baselineAverage: baseline.mean,
      baselineDuration: baseline.minutes,
      baselineAttributes: copyAttributes(baseline.attributes),
      insightAttributes: attributes ? copyAttributes(attributes) : emptyAttributes(),
    };
    detector.episode = started;
    out.push(record(series.key, type, 'Start', started, minute * 60_000, {
      baseline: { average: round(baseline.mean) },
      insight: { average: count },
      insightDuration: 1,
      baselineDuration: baseline.minutes,
    }, attributions(type, started.insightAttributes, 1, started.baselineAttributes)));
    return;
  }
  learn(baseline, count, attributes, floorAlpha);
}

/** One exponentially weighted step (West's incremental mean and variance), warm-up weight 1/n. */
function learn(baseline: Baseline, count: number, attributes: AttributeCounts | undefined, floorAlpha: number): void {
  baseline.minutes++;
  const alpha = Math.max(1 / baseline.minutes, floorAlpha);
  const diff = count - baseline.mean;
  baseline.mean += alpha * diff;
  baseline.variance = (1 - alpha) * (baseline.variance + alpha * diff * diff);
  for (const attribute of ATTRIBUTES) {
    const means = baseline.attributes[attribute];
    const seen = attributes?.[attribute];
    for (const value in means) {
      const next = means[value]! + alpha * ((seen?.[value] ?? 0) - means[value]!);
      if (next < 1e-9) delete means[value];
      else means[value] = next;
    }
    if (seen) for (const value in seen) if (!(value in means)) means[value] = alpha * seen[value]!;
    const entries = Object.entries(means);
    if (entries.length > MAX_VALUES) {
      entries.sort((a, b) => b[1] - a[1]);
      const kept = countTable();
      for (const [value, mean] of entries.slice(0, MAX_VALUES)) kept[value] = mean;
      baseline.attributes[attribute] = kept;
    }
  }
}

function addInto(target: AttributeCounts, source: AttributeCounts): void {
  for (const attribute of ATTRIBUTES) {
    for (const [value, n] of Object.entries(source[attribute])) {
      const table = target[attribute];
      if (value in table || Object.keys(table).length < MAX_VALUES_PER_MINUTE) table[value] = (table[value] ?? 0) + n;
    }
  }
}

function top(table: Record<string, number>, divisor: number): { value: string; average: number }[] {
  return Object.entries(table)
    .map(([value, n]) => ({ value, average: round(n / divisor) }))
    .sort((a, b) => b.average - a.average || (a.value < b.value ? -1 : 1))
    .slice(0, TOP);
}

/** Error codes are attributed only for call-rate insights (cloudtrail-spec.md §7.1). */
function attributions(type: InsightType, insight: AttributeCounts, minutes: number, baseline: AttributeCounts): InsightAttribution[] {
  const attributes = type === 'ApiCallRateInsight' ? ATTRIBUTES : ATTRIBUTES.filter((a) => a !== 'errorCode');
  return attributes.map((attribute) => ({ attribute, insight: top(insight[attribute], minutes), baseline: top(baseline[attribute], 1) }));
}

function record(key: SeriesKey, type: InsightType, state: 'Start' | 'End', episode: Episode, eventTime: number, statistics: InsightStatistics, attributionList: InsightAttribution[]): InsightEvent {
  return {
    state,
    insightType: type,
    series: key,
    sharedEventID: episode.sharedEventID,
    eventID: deterministicUuid('insight-record', episode.sharedEventID, state),
    eventTime,
    statistics,
    attributions: attributionList,
  };
}

/** Six significant digits, as CloudTrail's examples print (9.82222E-5). */
function round(value: number): number {
  return Number(value.toPrecision(6));
}
