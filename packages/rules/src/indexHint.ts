/**
 * What a rule requires of an event's eventName and eventSource (lower-cased), derived from its
 * logic. The rule set indexes rules by it so that an event meets only the rules that can match it:
 * most CloudTrail rules name the API call they are about.
 */
export interface IndexHint {
  eventName?: ReadonlySet<string>;
  eventSource?: ReadonlySet<string>;
}

export const noHint: IndexHint = {};

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  return new Set([...a].filter((x) => b.has(x)));
}

/** Both must hold: each requirement of either side holds (both sides on one field: the intersection). */
export function andHints(a: IndexHint, b: IndexHint): IndexHint {
  const out: { eventName?: ReadonlySet<string>; eventSource?: ReadonlySet<string> } = {};
  for (const field of ['eventName', 'eventSource'] as const) {
    const x = a[field];
    const y = b[field];
    if (x && y) out[field] = intersect(x, y);
    else if (x ?? y) out[field] = x ?? y;
  }
  return out;
}

/** Either may hold: only a field both sides constrain stays constrained (to the union). */
export function orHints(a: IndexHint, b: IndexHint): IndexHint {
  const out: { eventName?: ReadonlySet<string>; eventSource?: ReadonlySet<string> } = {};
  for (const field of ['eventName', 'eventSource'] as const) {
    const x = a[field];
    const y = b[field];
    if (x && y) out[field] = new Set([...x, ...y]);
  }
  return out;
}
