import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { toApiCallEvent } from '@opentrail/cloudtrail';
import { AvroSerde, loadSchemas, valueSubject, type ApiCallEvent, type LoadedSchema } from '@opentrail/serde';
import { simpleEvent } from '../helpers/events.js';
import { testRegistry, uniquePrefix } from '../helpers/env.js';

/** The ApiCallEvent schema changed by `change`, as a schema the serde can register. */
function variant(change: (schema: { fields: Record<string, unknown>[] }) => void): LoadedSchema {
  const schema = JSON.parse(loadSchemas().ApiCallEvent.canonical) as { fields: Record<string, unknown>[] };
  change(schema);
  const type = avro.Type.forSchema(schema as avro.Schema);
  return { name: 'ApiCallEvent', type, canonical: JSON.stringify(type.schema({ exportAttrs: true })) };
}

describe('schema evolution through the registry (BACKWARD)', () => {
  it('accepts an added optional field, refuses an incompatible change, and v1 readers read v2 data', async () => {
    const registry = testRegistry();
    const subject = valueSubject(`${uniquePrefix('evolve')}events.raw`);
    const v1 = new AvroSerde<ApiCallEvent>(registry, loadSchemas().ApiCallEvent);
    const v1Id = await v1.register(subject);

    const v2Schema = variant((s) => s.fields.push({ name: 'callerTeam', type: ['null', 'string'], default: null }));
    const v2 = new AvroSerde<ApiCallEvent & { callerTeam: string | null }>(registry, v2Schema);
    const v2Id = await v2.register(subject);
    expect(v2Id).not.toBe(v1Id);

    // A new required field without a default cannot read old data: the registry refuses it.
    const broken = new AvroSerde(registry, variant((s) => s.fields.push({ name: 'mandatory', type: 'string' })));
    await expect(broken.register(subject)).rejects.toThrow(/409|incompatib/i);
    // So does changing a field's type.
    const retyped = new AvroSerde(registry, variant((s) => {
      const field = s.fields.find((f) => f.name === 'readOnly')!;
      field.type = ['null', 'string'];
    }));
    await expect(retyped.register(subject)).rejects.toThrow(/409|incompatib/i);

    const event = toApiCallEvent(simpleEvent(7));
    const written = v2.encode({ ...event, callerTeam: 'payments' });
    expect(written.readInt32BE(1)).toBe(v2Id);
    // A v1 reader (the schema this code was built with) resolves v2 data into v1's shape.
    const fresh = new AvroSerde<ApiCallEvent>(registry, loadSchemas().ApiCallEvent);
    const read = await fresh.decodeOne(written);
    expect(read).toEqual(event);
    expect('callerTeam' in read).toBe(false);
    // And a v2 reader reads v1 data, with the default.
    const v2Reader = new AvroSerde<ApiCallEvent & { callerTeam: string | null }>(registry, v2Schema);
    expect(await v2Reader.decodeOne(v1.encode(event))).toEqual({ ...event, callerTeam: null });
  });
});
