import { describe, expect, it } from 'vitest';
import type { ServiceName } from '../pipeline.js';
import { describeFault, faultSchedule } from '../schedule.js';

const instances = new Map<ServiceName, string[]>([
  ['enricher', ['enricher-1', 'enricher-2']],
  ['archiver', ['archiver-1', 'archiver-2']],
  ['digester', ['digester']],
  ['history', ['history']],
]);

describe('the chaos fault schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    const a = faultSchedule({ seed: 7, durationSeconds: 600, instances, killsPerService: 2 });
    expect(faultSchedule({ seed: 7, durationSeconds: 600, instances, killsPerService: 2 })).toEqual(a);
    expect(faultSchedule({ seed: 8, durationSeconds: 600, instances, killsPerService: 2 }).map((f) => describeFault(f.fault))).not.toEqual(a.map((f) => describeFault(f.fault)));
  });

  it('kills every service the asked number of times, SIGTERMs an archiver and an enricher, and has each stack fault once, within the settled window', () => {
    const schedule = faultSchedule({ seed: 3, durationSeconds: 300, instances, killsPerService: 3, settleSeconds: 20 });
    const kills = schedule.flatMap((s) => (s.fault.kind === 'kill' ? [s.fault.service] : []));
    for (const service of instances.keys()) expect(kills.filter((k) => k === service)).toHaveLength(3);
    expect(schedule.filter((s) => s.fault.kind === 'sigterm').map((s) => (s.fault as { service: string }).service).sort()).toEqual(['archiver', 'enricher']);
    for (const kind of ['broker-restart', 's3-outage', 'postgres-restart']) expect(schedule.filter((s) => s.fault.kind === kind)).toHaveLength(1);
    // The archiver's kills go through its moments: a roll, an upload, then any time.
    expect(schedule.flatMap((s) => (s.fault.kind === 'kill' && s.fault.service === 'archiver' ? [s.fault.moment] : [])).sort()).toEqual(['random', 'roll', 'upload']);
    const times = schedule.map((s) => s.at);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...times)).toBeLessThanOrEqual(280);
  });
});

describe('the chaos fault schedule, narrowed', () => {
  it('keeps only the asked kinds of fault', () => {
    const schedule = faultSchedule({ seed: 5, durationSeconds: 300, instances, killsPerService: 2, kinds: new Set(['kill', 'sigterm'] as const) });
    expect(new Set(schedule.map((s) => s.fault.kind))).toEqual(new Set(['kill', 'sigterm']));
    expect(schedule).toHaveLength(instances.size * 2 + 2);
  });
});
