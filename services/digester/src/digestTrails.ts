import type { Trail, TrailCatalog } from '@opentrail/trails';

/**
 * What the digester needs to know of a trail now (issue 14): its definition, when logging last
 * started, and whether it has stopped producing digests (StopLogging, DeleteTrail, or digests
 * switched off) and since when. CloudTrail's rules (cloudtrail-spec.md §3.1): on stop or delete a
 * final digest covers the files up to the stop; no digests while stopped; after logging restarts
 * the chain starts again with a digest whose previous* fields are null.
 */
export interface DigestTrail {
  trail: Trail;
  /** The last StartLogging (epoch ms); unset for a trail logging since the configuration file seeded it. */
  startedAt?: number;
  /** When it stopped producing digests; unset while it does. */
  stoppedAt?: number;
}

export interface DigestTrails {
  get(name: string): DigestTrail | undefined;
}

/** Trails that never change (tools and tests). */
export function staticDigestTrails(trails: readonly Trail[]): DigestTrails {
  const byName = new Map(trails.map((trail) => [trail.name, { trail }]));
  return { get: (name) => byName.get(name) };
}

/** How long the digester remembers a deleted trail, to write its final digest. */
const DELETED_RETENTION_MS = 24 * 3_600_000;

/** The catalog's view, with the deleted trails of the last day (for their final digests). */
export function catalogDigestTrails(catalog: TrailCatalog, now: () => number = Date.now): DigestTrails & { stop(): void } {
  const deleted = new Map<string, DigestTrail>();
  const unsubscribe = catalog.onChange((change) => {
    const at = now();
    for (const [name, d] of deleted) if (at - d.stoppedAt! > DELETED_RETENTION_MS) deleted.delete(name);
    if (change.after) deleted.delete(change.name);
    else if (change.before) {
      const { before } = change;
      // Deleted while stopped: it stopped at its StopLogging.
      deleted.set(change.name, { trail: before.definition, stoppedAt: before.isLogging ? at : (before.stopLoggingTime ?? at) });
    }
  });
  return {
    get(name) {
      const record = catalog.get(name);
      if (!record) return deleted.get(name);
      const trail = record.definition;
      const seeded = record.origin === 'config' && (record.startLoggingTime === undefined || record.startLoggingTime <= record.createdAt);
      const startedAt = seeded ? undefined : record.startLoggingTime;
      const base: DigestTrail = startedAt === undefined ? { trail } : { trail, startedAt };
      // Digests switched off (digests.enabled, EnableLogFileValidation) are the digester's own check.
      return record.isLogging ? base : { ...base, stoppedAt: record.stopLoggingTime ?? record.updatedAt };
    },
    stop: unsubscribe,
  };
}
