/**
 * One extractor per bench: the figures it prints, read from its stdout, each with the way that is
 * better. Labels are matched where both trees print them alike; where the tree after the change
 * renamed a baseline (runtime.bench.ts: "raw kafkajs" became "bare kafkajs" / "port producer"), the
 * figure gets one name for both spellings.
 */
import { FigureList, afterLabel, durationMs, jsonLines, numberAfter, numberField, numbersIn, type Better, type Figure } from './figures.js';

export type Extractor = (stdout: string) => Figure[];

const linesOf = (stdout: string) => stdout.split('\n');

function producer(stdout: string): Figure[] {
  const lines = linesOf(stdout);
  const f = new FigureList();
  f.add('convert + encode (baseline)', numberAfter(lines, 'producer: convert + encode (baseline)'), 'µs CPU/event', 'lower');
  f.add('acceptRecord + encode', numberAfter(lines, 'producer: acceptRecord + encode (record())'), 'µs CPU/event', 'lower');
  f.add('Avro decode (baseline)', numberAfter(lines, 'consumers: Avro decode (baseline)'), 'µs CPU/event', 'lower');
  f.add('validateApiCallEvent', numberAfter(lines, 'consumers: validateApiCallEvent'), 'µs CPU/event', 'lower');
  f.add('refusal, 100000 levels of nesting', numberAfter(lines, 'refusal of 100000 levels of nesting'), 'ms', 'lower');
  f.add('refusal, 10-million element array', numberAfter(lines, 'refusal of a 10-million element array'), 'ms', 'lower');
  f.add('acceptRecord of 256 KB', numberAfter(lines, 'acceptRecord of a record of exactly 256 KB', 0), 'ms', 'lower');
  f.add("consumers' check of 256 KB", numberAfter(lines, "the consumers' check of it"), 'ms', 'lower');
  return f.figures;
}

function isolation(stdout: string): Figure[] {
  const f = new FigureList();
  for (const line of linesOf(stdout)) {
    // "   5 poison: 41 handler calls, 2900 records handed over (5.8x the batch), time 4.9x a clean batch (1.23 ms)"
    const at = line.indexOf(' poison: ');
    if (at < 0) continue;
    const k = numbersIn(line.slice(0, at))[0];
    const [calls, handedOver, , ratio, cleanMs] = numbersIn(line.slice(at));
    f.add(`${k} poison: handler calls`, calls, 'calls', 'lower');
    f.add(`${k} poison: records handed over`, handedOver, 'records', 'lower');
    f.add(`${k} poison: time vs a clean batch`, ratio, 'x', 'lower');
    f.add(`${k} poison: clean batch`, cleanMs, 'ms', 'lower');
  }
  return f.figures;
}

function patterns(stdout: string): Figure[] {
  const lines = linesOf(stdout);
  const f = new FigureList();
  for (let i = 0; i + 1 < lines.length; i++) {
    const next = afterLabel([lines[i + 1]!], 'new engine:');
    if (!next) continue;
    const name = lines[i]!.trim();
    f.add(`${name}: new engine`, durationMs(next.rest), 'ms', 'lower');
  }
  return f.figures;
}

function alerter(stdout: string): Figure[] {
  const lines = linesOf(stdout);
  const f = new FigureList();
  f.add('no rules', numberAfter(lines, 'no rules:'), 'events/s/core', 'higher');
  const rules = afterLabel(lines, 'CIS pack (');
  // The label carries the rule counts; the throughput is the number after its colon.
  if (rules) f.add('CIS + Sigma + thresholds', numbersIn(rules.rest.slice(rules.rest.indexOf(':') + 1))[0], 'events/s/core', 'higher');
  f.add('with rules / no rules', numberAfter(lines, 'ratio:'), '%', 'higher');
  f.add('rule evaluations per event', numberAfter(lines, 'rule evaluations per event after the index:'), 'rules', 'lower');
  return f.figures;
}

function archiver(stdout: string): Figure[] {
  const lines = linesOf(stdout);
  const f = new FigureList();
  f.add('floor (serialise + gzip): CPU', numberAfter(lines, 'floor, serialise + gzip on one thread:', 0), 'µs CPU/event', 'lower');
  f.add('floor (serialise + gzip): rate', numberAfter(lines, 'floor, serialise + gzip on one thread:', 1), 'events/s', 'higher');
  // "archiver process, Kafka to S3:" before, "archiver process, KafkaClient to S3:" now.
  const row = afterLabel(lines, 'archiver process, ');
  const [cpu, rate, ratio] = row ? numbersIn(row.rest.slice(row.rest.indexOf(':') + 1)) : [];
  f.add('archiver process: CPU', cpu, 'µs CPU/event', 'lower');
  f.add('archiver process: rate', rate, 'events/s', 'higher');
  f.add('archiver CPU / floor CPU', ratio, 'x', 'lower');
  f.add('latency p50', numberAfter(lines, '    p50 '), 's', 'lower');
  f.add('latency p99', numberAfter(lines, '   p99 '), 's', 'lower');
  f.add('latency max', numberAfter(lines, '   max '), 's', 'lower');
  return f.figures;
}

/** The enricher bench's figures: [name, the label its value follows, which number after it, unit, better]. */
const ENRICHER_FIGURES: readonly (readonly [string, string, number, string, Better])[] = [
  ['runtime pass-through: rate', 'runtime pass-through  ', 0, 'events/s', 'higher'],
  ['runtime pass-through: CPU', 'runtime pass-through  ', 1, 'µs CPU/event', 'lower'],
  ['enricher: rate', '  enricher              ', 0, 'events/s', 'higher'],
  ['enricher: CPU', '  enricher              ', 1, 'µs CPU/event', 'lower'],
  ['enricher / pass-through', 'enricher / pass-through:', 0, '%', 'higher'],
  ['pass-through CPU / enricher CPU', 'pass-through CPU / enricher CPU per event:', 0, '%', 'higher'],
  ['identities table: process RSS', 'process RSS', 0, 'MB', 'lower'],
  ['identities table: table', '  table ', 0, 'MB', 'lower'],
  ['identities table: V8 heap used', 'V8 heap', 0, 'MB', 'lower'],
];

function enricher(stdout: string): Figure[] {
  const lines = linesOf(stdout);
  const f = new FigureList();
  for (const [name, label, n, unit, better] of ENRICHER_FIGURES) f.add(name, numberAfter(lines, label, n), unit, better);
  return f.figures;
}

/** history-ingest's figures, from its JSON result line: [name, key, unit, better]. */
const HISTORY_INGEST_FIGURES: readonly (readonly [string, string, string, Better])[] = [
  ['enricher output', 'enricherEventsPerSecond', 'events/s', 'higher'],
  ['history into PostgreSQL', 'historyEventsPerSecond', 'events/s', 'higher'],
  ['history / enricher rate', 'historyVsEnricher', 'ratio', 'higher'],
  ['history node CPU', 'historyNodeCpuUsPerEvent', 'µs/event', 'lower'],
  ['enricher node CPU', 'enricherNodeCpuUsPerEvent', 'µs/event', 'lower'],
  ['PostgreSQL CPU', 'postgresCpuUsPerEvent', 'µs/event', 'lower'],
  ['history with its servers CPU', 'historyAllCpuUsPerEvent', 'µs/event', 'lower'],
  ['enricher with its broker CPU', 'enricherAllCpuUsPerEvent', 'µs/event', 'lower'],
  ['storage', 'bytesPerEvent', 'bytes/event', 'lower'],
];

function historyIngest(stdout: string): Figure[] {
  const f = new FigureList();
  const result = jsonLines(linesOf(stdout)).find((o) => Object.hasOwn(o, 'historyEventsPerSecond'));
  if (!result) return [];
  for (const [name, key, unit, better] of HISTORY_INGEST_FIGURES) f.add(name, numberField(result, key), unit, better);
  return f.figures;
}

function historyWriter(stdout: string): Figure[] {
  const f = new FigureList();
  let inTable = false;
  for (const line of linesOf(stdout)) {
    if (line.startsWith('mode ')) {
      inTable = true;
      continue;
    }
    if (line.startsWith('storage:')) {
      inTable = false;
      f.add('storage', numbersIn(line)[0], 'bytes/event', 'lower');
      continue;
    }
    if (!inTable) continue;
    // "copy           1     12345        40.1      20.3     16000"
    const mode = line.trim().split(' ')[0];
    const [writers, rate, nodeUs, pgUs, perCpu] = numbersIn(line);
    if (!mode || perCpu === undefined) continue;
    const key = `${mode}, ${writers} writer${writers === 1 ? '' : 's'}`;
    f.add(`${key}: rate`, rate, 'events/s', 'higher');
    f.add(`${key}: node CPU`, nodeUs, 'µs/event', 'lower');
    f.add(`${key}: PostgreSQL CPU`, pgUs, 'µs/event', 'lower');
  }
  return f.figures;
}

function historyLookup(stdout: string): Figure[] {
  const f = new FigureList();
  let size: string | undefined;
  for (const line of linesOf(stdout)) {
    const stored = / events stored \(/.exec(line);
    if (stored) {
      size = line.slice(0, stored.index).trim();
      continue;
    }
    if (line.startsWith('p50 at ')) size = undefined; // the growth table follows: ratios, not times
    if (!size || !line.startsWith('  ') || line.includes('p50 ms')) continue;
    const nums = numbersIn(line.slice(34));
    if (nums.length !== 2) continue;
    const label = line.slice(2, 34).trim();
    f.add(`${size} rows, ${label}: p50`, nums[0], 'ms', 'lower');
    f.add(`${size} rows, ${label}: p99`, nums[1], 'ms', 'lower');
  }
  return f.figures;
}

/** runtime.bench.ts's rows, under one name for the label each tree gives them. */
const RUNTIME_ROWS: readonly (readonly [string, readonly string[]])[] = [
  // Not the same code on both sides: before, kafkajs's producer; now, the port's producer (on the
  // kafkajs adapter, which hands out kafkajs's producer itself). The in-run yardstick for Recorder.record.
  ['produce: baseline send (raw kafkajs → port producer)', ['produce: raw kafkajs send', 'produce: port producer send']],
  ['produce: Recorder.record', ['produce: Recorder.record']],
  ['pass-through: baseline (kafkajs)', ['pass-through: raw kafkajs', 'pass-through: bare kafkajs']],
  // "(now)" is the tree's own processor; a "(before)" row of BENCH_RUNTIME_BEFORE is not read.
  ['pass-through: StreamProcessor', ['pass-through: StreamProcessor  ', 'pass-through: StreamProcessor (now)']],
  ['decoding: by hand (baseline)', ['decoding: kafkajs + registry.decode']],
  ['decoding: StreamProcessor', ['decoding: StreamProcessor  ', 'decoding: StreamProcessor (now)']],
];

function runtime(stdout: string): Figure[] {
  const lines = linesOf(stdout).filter((line) => line.startsWith('  ') && !line.trimStart().startsWith('over '));
  const f = new FigureList();
  for (const [name, labels] of RUNTIME_ROWS) {
    const label = labels.find((l) => afterLabel(lines, l));
    if (!label) continue;
    const [rate, cpu] = numbersIn(afterLabel(lines, label)!.rest);
    f.add(`${name}: rate`, rate, 'events/s', 'higher');
    f.add(`${name}: CPU`, cpu, 'µs CPU/event', 'lower');
  }
  return f.figures;
}

/** The markdown table: | client | pass-through events/s | µs CPU/event | p99 ms | transactional … | rebalance pause ms | 2nd consumer's first batch ms | duplicates | rebalancing | */
function kafkaClients(stdout: string): Figure[] {
  const f = new FigureList();
  const columns: readonly (readonly [number, string, string, 'higher' | 'lower'])[] = [
    [2, 'pass-through: rate', 'events/s', 'higher'],
    [3, 'pass-through: CPU', 'µs CPU/event', 'lower'],
    [4, 'pass-through: p99', 'ms', 'lower'],
    [5, 'transactional: rate', 'events/s', 'higher'],
    [6, 'transactional: CPU', 'µs CPU/event', 'lower'],
    [7, 'transactional: p99', 'ms', 'lower'],
    [8, 'rebalance pause', 'ms', 'lower'],
    [9, "2nd consumer's first batch", 'ms', 'lower'],
    [10, 'rebalance duplicates', 'events', 'lower'],
  ];
  for (const line of linesOf(stdout)) {
    if (!line.startsWith('| ') || line.startsWith('| client ')) continue;
    const cells = line.split('|').map((c) => c.trim());
    // The client cell may carry a version ("kafkajs 2.2.4"): the figure is named by the client.
    const client = cells[1]?.split(' ')[0];
    if (!client) continue;
    for (const [column, name, unit, better] of columns) {
      const cell = cells[column] ?? '';
      if (!/^-?\d+(?:\.\d+)?$/.test(cell)) continue;
      f.add(`${client} ${name}`, Number(cell), unit, better);
    }
  }
  return f.figures;
}

function coldstart(stdout: string): Figure[] {
  const f = new FigureList();
  const runs = linesOf(stdout).filter((line) => line.startsWith('run '));
  const seconds = (label: string) =>
    runs.map((line) => afterLabel([line], label)).flatMap((found) => (found ? [numbersIn(found.rest)[0]] : [])).filter((n): n is number => n !== undefined);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
  f.add('start to pass (mean of runs)', mean(seconds(' in ')), 's', 'lower');
  f.add('all ready (mean of runs)', mean(seconds('all ready ')), 's', 'lower');
  f.add('first log file in S3 after ready (mean)', mean(seconds('first log file in S3 ')), 's', 'lower');
  const passed = afterLabel(linesOf(stdout), 'cold start: ');
  if (passed) f.add('runs passed', numbersIn(passed.rest)[0], 'runs', 'higher');
  return f.figures;
}

export const EXTRACTORS: ReadonlyMap<string, Extractor> = new Map([
  ['producer', producer],
  ['isolation', isolation],
  ['patterns', patterns],
  ['alerter', alerter],
  ['archiver', archiver],
  ['enricher', enricher],
  ['history-ingest', historyIngest],
  ['history-writer', historyWriter],
  ['history-lookup', historyLookup],
  ['runtime', runtime],
  ['kafka-clients', kafkaClients],
  ['coldstart', coldstart],
]);
