import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSchemas } from '../src/index.js';
import { schemaIdOf } from '../src/serde.js';
import { renderTypes } from '../scripts/typegen.js';

describe('schemas', () => {
  it('parse, and the enriched event embeds the API-call event by name', () => {
    const schemas = loadSchemas();
    const enriched = JSON.parse(schemas.EnrichedEvent.canonical) as { fields: { name: string; type: { name?: string } }[] };
    expect(enriched.fields[0]?.type.name).toBe('dev.opentrail.ApiCallEvent');
  });

  it('generated TypeScript types are up to date (npm run schemas:types)', () => {
    const onDisk = readFileSync(fileURLToPath(new URL('../src/generated/avro-types.ts', import.meta.url)), 'utf8');
    expect(onDisk).toBe(renderTypes());
  });
});

describe('schemaIdOf', () => {
  it('reads the id of Confluent framing and rejects anything else', () => {
    expect(schemaIdOf(Buffer.from([0, 0, 0, 1, 2, 9]))).toBe(258);
    expect(schemaIdOf(Buffer.from([1, 0, 0, 1, 2, 9]))).toBeUndefined();
    expect(schemaIdOf(Buffer.from([0, 0, 0]))).toBeUndefined();
    expect(schemaIdOf(null)).toBeUndefined();
  });
});
