import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

/** The repository's schemas/ directory: the single source of truth for every topic's value. */
export const SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));

/** Top-level schemas, by file, in the order they must be parsed (a file may name types of the ones before it). */
export const SCHEMA_FILES = {
  ApiCallEvent: 'api-call-event.avsc',
  EnrichedEvent: 'enriched-event.avsc',
  Identity: 'identity.avsc',
  Delivery: 'delivery.avsc',
  ArchiverState: 'archiver-state.avsc',
  Alert: 'alert.avsc',
  AlerterState: 'alerter-state.avsc',
  DigesterState: 'digester-state.avsc',
  DigestPublicKey: 'digest-public-key.avsc',
  Notification: 'notification.avsc',
  TrailRecord: 'trail.avsc',
  TrailActivity: 'trail-activity.avsc',
  EventDataStoreRecord: 'event-data-store.avsc',
} as const;

export type SchemaName = keyof typeof SCHEMA_FILES;

export interface LoadedSchema {
  name: SchemaName;
  /** Parsed once; reused for every message. */
  type: avro.Type;
  /** The schema with every named type it uses written out, as registered with the registry. */
  canonical: string;
}

let loaded: Record<SchemaName, LoadedSchema> | undefined;

/**
 * Parses every .avsc file once. Files refer to each other's named types (the enriched event embeds
 * dev.opentrail.ApiCallEvent), which a shared avsc registry resolves; what gets registered is the
 * self-contained expansion, so readers never need schema references.
 */
export function loadSchemas(dir: string = SCHEMA_DIR): Record<SchemaName, LoadedSchema> {
  if (loaded && dir === SCHEMA_DIR) return loaded;
  const registry: Record<string, avro.Type> = {};
  const known = new Set(Object.values(SCHEMA_FILES) as string[]);
  const stray = readdirSync(dir).filter((f) => f.endsWith('.avsc') && !known.has(f));
  if (stray.length) throw new Error(`schemas/ holds files not listed in SCHEMA_FILES: ${stray.join(', ')}`);
  const result = {} as Record<SchemaName, LoadedSchema>;
  for (const [name, file] of Object.entries(SCHEMA_FILES) as [SchemaName, string][]) {
    const json = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as avro.Schema;
    const type = avro.Type.forSchema(json, { registry });
    result[name] = { name, type, canonical: JSON.stringify(type.schema({ exportAttrs: true })) };
  }
  if (dir === SCHEMA_DIR) loaded = result;
  return result;
}
