/**
 * A record's JSON with members sorted at every level: two records are equal as JSON (same members,
 * same values, whatever the order) exactly when their canonical texts are equal. Members named
 * `__proto__` are kept (the sorted copies have no prototype), and -0 is told apart from 0, so the
 * comparison itself cannot hide what the pipeline is tested for.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && Object.is(v, -0)) return '(-0)';
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
