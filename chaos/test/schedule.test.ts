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
    // Two kills of each service (the archiver's at a roll and an upload), two SIGTERMs; no scaling.
    expect(schedule).toHaveLength(instances.size * 2 + 2);
  });
});

describe('the chaos fault schedule, scaling', () => {
  const scaled = (seed: number) => faultSchedule({ seed, durationSeconds: 600, instances, killsPerService: 1, scalesPerService: 2 });

  it('scales the archiver, the enricher and history out and in the asked number of times each, new instances under new names', () => {
    const schedule = scaled(11);
    for (const service of ['archiver', 'enricher', 'history']) {
      const outs = schedule.flatMap((s) => (s.fault.kind === 'scale-out' && s.fault.service === service ? [s.fault.instance] : []));
      const ins = schedule.flatMap((s) => (s.fault.kind === 'scale-in' && s.fault.service === service ? [s.fault.instance] : []));
      expect(outs).toHaveLength(2);
      expect(ins).toHaveLength(2);
      expect(new Set(outs).size).toBe(2);
      for (const name of outs) expect(instances.get(service as ServiceName)).not.toContain(name);
    }
    expect(schedule.some((s) => s.fault.kind === 'scale-out' && s.fault.instance === 'history-2')).toBe(true);
    expect(schedule.some((s) => s.fault.kind === 'scale-out' && s.fault.instance === 'archiver-3')).toBe(true);
  });

  it('retires only instances a scale-out started and that still run, and never targets them with a kill', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const live = new Set<string>();
      for (const { fault } of scaled(seed)) {
        if (fault.kind === 'scale-out') live.add(fault.instance);
        if (fault.kind === 'scale-in') expect(live.delete(fault.instance)).toBe(true);
        if (fault.kind === 'kill' || fault.kind === 'sigterm') expect([...instances.values()].flat()).toContain(fault.instance);
      }
      expect(live.size).toBe(0);
    }
  });

  it('kills every service at each of its moments even with one kill asked', () => {
    const moments = faultSchedule({ seed: 1, durationSeconds: 300, instances, killsPerService: 1 }).flatMap((s) => (s.fault.kind === 'kill' ? [`${s.fault.service}:${s.fault.moment}`] : []));
    expect(moments.sort()).toEqual(['archiver:roll', 'archiver:upload', 'digester:digest', 'enricher:commit', 'history:commit']);
  });
});
