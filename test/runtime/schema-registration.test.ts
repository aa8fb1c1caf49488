import { describe, expect, it } from 'vitest';
import { AvroSerde, loadSchemas, valueSubject, type Delivery } from '@opentrail/serde';
import { testRegistry, uniquePrefix } from '../helpers/env.js';

describe('schema registration', () => {
  it('instances registering a new subject at the same moment all succeed, with one schema id', async () => {
    // Each instance has a registry client of its own, as separate processes do: nothing is shared
    // but the registry, where they race to create the subject and its compatibility rule.
    for (let round = 0; round < 3; round++) {
      const subject = valueSubject(`${uniquePrefix('register')}deliveries`);
      const instances = Array.from({ length: 6 }, () => new AvroSerde<Delivery>(testRegistry(), loadSchemas().Delivery));
      const outcomes = await Promise.allSettled(instances.map((serde) => serde.register(subject)));
      const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
      expect(failures).toEqual([]);
      const ids = new Set(outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])));
      expect(ids.size).toBe(1);
      const registry = testRegistry();
      expect(await registry.getLatestSchemaId(subject)).toBe([...ids][0]);
    }
  });
});
