import { describe, expect, it } from 'vitest';
import { AvroSerde, loadSchemas, SUBJECT_COMPATIBILITY, valueSubject, type SchemaName } from '@opentrail/serde';
import { stackEndpoints, testRegistry, uniquePrefix } from '../helpers/env.js';

const compatibilityOf = async (subject: string) =>
  ((await (await fetch(`${stackEndpoints().schemaRegistryUrl}/config/${encodeURIComponent(subject)}`)).json()) as { compatibilityLevel?: string }).compatibilityLevel;

describe('schema registration', () => {
  it('8 instances registering the same new subjects at the same moment all succeed, with one id per subject and BACKWARD, many times over', async () => {
    // Each instance has a registry client of its own, as separate processes do: nothing is shared
    // but the registry, where they race to create the subjects and their compatibility rules.
    const schemas: SchemaName[] = ['Delivery', 'EnrichedEvent', 'Identity'];
    for (let round = 0; round < 12; round++) {
      const prefix = uniquePrefix('register');
      const subjects = schemas.map((name) => ({ name, subject: valueSubject(`${prefix}${name.toLowerCase()}`) }));
      const attempts = subjects.flatMap(({ name, subject }) =>
        Array.from({ length: 8 }, () => new AvroSerde(testRegistry(), loadSchemas()[name]).register(subject).then((id) => ({ subject, id }))),
      );
      const outcomes = await Promise.allSettled(attempts);
      const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
      expect(failures).toEqual([]);
      const registry = testRegistry();
      for (const { subject } of subjects) {
        const ids = new Set(outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.subject === subject ? [o.value.id] : [])));
        expect(ids.size).toBe(1);
        expect(await registry.getLatestSchemaId(subject)).toBe([...ids][0]);
        expect(await compatibilityOf(subject)).toBe(SUBJECT_COMPATIBILITY);
      }
    }
  });

  it('a subject left at the registry default (registered without a rule) gets BACKWARD, by whichever instance', async () => {
    const subject = valueSubject(`${uniquePrefix('norule')}deliveries`);
    const schema = loadSchemas().Delivery;
    // Registered as a plain POST, without a rule: what the racing start of an older version left.
    const created = await fetch(`${stackEndpoints().schemaRegistryUrl}/subjects/${encodeURIComponent(subject)}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: schema.canonical }),
    });
    expect(created.ok).toBe(true);
    expect(await compatibilityOf(subject)).not.toBe(SUBJECT_COMPATIBILITY);
    const ids = await Promise.all(Array.from({ length: 8 }, () => new AvroSerde(testRegistry(), schema).register(subject)));
    expect(new Set(ids).size).toBe(1);
    expect(await compatibilityOf(subject)).toBe(SUBJECT_COMPATIBILITY);
  });

  it('an incompatible schema is still refused', async () => {
    const subject = valueSubject(`${uniquePrefix('incompatible')}t`);
    await new AvroSerde(testRegistry(), loadSchemas().Delivery).register(subject);
    await expect(new AvroSerde(testRegistry(), loadSchemas().Identity).register(subject)).rejects.toThrow(/incompatib/i);
  });
});
