import { describe, expect, it } from 'vitest';
import { parseRuleFile, RuleSet, ThresholdWindow } from '../src/index.js';
import { ev } from './events.js';

const spec = { count: 5, windowMs: 60_000 };
const s = (seconds: number) => seconds * 1000;

describe('ThresholdWindow (sliding, event time)', () => {
  it('fires when five matches fall within 60 s, with the window of the first', () => {
    const w = new ThresholdWindow();
    const results = [0, 10, 20, 30, 40].map((t, i) => w.add({ time: s(t), eventId: `e${i}` }, spec));
    expect(results.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
    expect(results[4]).toEqual({ windowStart: 0, windowEnd: s(60), firstSeen: 0, lastSeen: s(40), matches: [0, 10, 20, 30, 40].map((t, i) => ({ time: s(t), eventId: `e${i}` })) });
    expect(w.size).toBe(0);
  });

  it('four matches do not fire; five spread over more than 60 s do not either', () => {
    const w = new ThresholdWindow();
    expect([0, 10, 20, 30].map((t, i) => w.add({ time: s(t), eventId: `e${i}` }, spec)).filter(Boolean)).toEqual([]);
    const spread = new ThresholdWindow();
    expect([0, 20, 40, 61, 80].map((t, i) => spread.add({ time: s(t), eventId: `e${i}` }, spec)).filter(Boolean)).toEqual([]);
    // …but a sixth makes 20..80 a window of five.
    expect(spread.add({ time: s(79), eventId: 'e5' }, spec)).toMatchObject({ windowStart: s(20), firstSeen: s(20), lastSeen: s(80) });
  });

  it('straddling a minute boundary still fires (the window slides)', () => {
    const w = new ThresholdWindow();
    const fired = [50, 55, 60, 65, 70].map((t, i) => w.add({ time: s(t), eventId: `e${i}` }, spec)).filter(Boolean);
    expect(fired).toHaveLength(1);
  });

  it('counts an event id once and accepts matches out of order', () => {
    const w = new ThresholdWindow();
    for (const t of [30, 10, 10]) w.add({ time: s(t), eventId: `id${t}` }, spec);
    expect(w.size).toBe(2);
    w.add({ time: s(20), eventId: 'a' }, spec);
    w.add({ time: s(0), eventId: 'b' }, spec);
    expect(w.add({ time: s(5), eventId: 'c' }, spec)).toMatchObject({ windowStart: 0, lastSeen: s(30) });
  });

  it('round-trips through JSON (the changelog) and finds the same window afterwards', () => {
    const before = new ThresholdWindow();
    for (const [i, t] of [0, 10, 20].entries()) before.add({ time: s(t), eventId: `e${i}` }, spec);
    const restored = ThresholdWindow.fromJSON(JSON.parse(JSON.stringify(before)));
    restored.add({ time: s(30), eventId: 'e3' }, spec);
    expect(restored.add({ time: s(40), eventId: 'e4' }, spec)).toMatchObject({ windowStart: 0, matches: [{ eventId: 'e0' }, {}, {}, {}, { eventId: 'e4' }] });
  });

  it('expires old matches', () => {
    const w = new ThresholdWindow();
    w.add({ time: s(0), eventId: 'a' }, spec);
    w.add({ time: s(50), eventId: 'b' }, spec);
    expect(w.expire(s(10))).toBe(false);
    expect(w.expire(s(100))).toBe(true);
  });
});

describe('RuleSet index', () => {
  const load = (text: string) => RuleSet.build(parseRuleFile('x.yml', text).definitions).ruleSet;
  const text = [
    "id: by-name\ntitle: t\nfilterPattern: '{ $.eventName = ConsoleLogin }'",
    "id: by-source\ntitle: t\nfilterPattern: '{ $.eventSource = kms.amazonaws.com && $.errorCode = \"*\" }'",
    "id: any\ntitle: t\nfilterPattern: '{ $.errorCode = AccessDenied }'",
    'title: sigma\nid: sig\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventName: [consolelogin, GetObject]\n  condition: sel',
  ].join('\n---\n');

  it('hands an event only the rules that can match it', () => {
    const set = load(text);
    expect(set.candidates(ev({ eventName: 'ConsoleLogin' })).map((r) => r.id)).toEqual(['by-name', 'sig', 'any']);
    expect(set.candidates(ev({ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt' })).map((r) => r.id)).toEqual(['by-source', 'any']);
    expect(set.candidates(ev({ eventName: 'DescribeInstances' })).map((r) => r.id)).toEqual(['any']);
  });

  it('evaluate counts evaluations and matches per rule', () => {
    const set = load(text);
    const matched: string[] = [];
    set.evaluate(ev({ eventName: 'ConsoleLogin' }), (r) => matched.push(r.id));
    expect(matched).toEqual(['by-name', 'sig']);
    expect(set.rules.map((r) => [r.id, r.stats.evaluations, r.stats.matches])).toEqual([
      ['by-name', 1, 1],
      ['by-source', 0, 0],
      ['any', 1, 0],
      ['sig', 1, 1],
    ]);
  });

  it('builds group keys from the group-by fields, with the default actor key', () => {
    const set = RuleSet.build(parseRuleFile('x.yml', "id: g\ntitle: t\nfilterPattern: '{ $.eventName = A }'\ngroupBy: [sourceIPAddress, userIdentity.userName]\n---\nid: d\ntitle: t\nfilterPattern: '{ $.eventName = A }'").definitions).ruleSet;
    const e = ev({ eventName: 'A', sourceIPAddress: '1.2.3.4', userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/alice', userName: 'alice' } });
    expect(set.rules.map((r) => r.groupKey(e))).toEqual(['1.2.3.4|alice', '123456789012|arn:aws:iam::123456789012:user/alice']);
    expect(set.rules[0]!.groupKey(ev({ eventName: 'A' }))).toBe('-|-');
  });
});
