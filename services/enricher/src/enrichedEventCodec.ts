import type { Type, types } from 'avsc';
import type { ApiCallEvent, AvroSerde, EnrichedEvent, Enrichment } from '@opentrail/serde';

/** Confluent framing: magic byte 0, 4-byte schema id. */
const HEADER_BYTES = 5;
/** A null branch of a ["null", …] union: branch index 0. */
const NULL_BRANCH = Buffer.from([0]);

/**
 * Encodes enriched events, on the hot path. Avro encodes a record as its fields' encodings one after
 * another, so an EnrichedEvent is the event's encoding followed by those of enrichedAt, identity, geo
 * and service. Hence:
 * - when the raw message was written with exactly the schema the enricher reads (the usual case:
 *   the producer client registers the same one), its Avro body is copied as is: the event is not
 *   encoded again, and what the producer wrote reaches the enriched topic byte for byte; otherwise
 *   (an older or newer compatible writer schema) the decoded event is encoded;
 * - the parts of the enrichment that recur (the geo answer of an address, the classification of an
 *   operation, what a record says about its caller) are the same objects each time, and their
 *   encoding is kept with them.
 */
export class EnrichedEventCodec {
  private readonly types: { enrichedAt: Type; identity: Type; geo: Type; service: Type };
  private readonly encoded = new WeakMap<object, Buffer>();
  private lastEnrichedAt: { ms: number; bytes: Buffer } | undefined;
  /** The last schema id found to be the reader's own (see bodyOf). */
  private lastSchemaId: number | undefined;

  constructor(
    private readonly enrichedSerde: AvroSerde<EnrichedEvent>,
    /** The serde the runtime decodes the raw topic with (it knows which writer schemas it has seen). */
    private readonly eventSerde: AvroSerde<ApiCallEvent>,
  ) {
    const enrichment = (enrichedSerde.schema.type as types.RecordType).field('enrichment').type as types.RecordType;
    const field = (name: string) => enrichment.field(name).type;
    this.types = { enrichedAt: field('enrichedAt'), identity: field('identity'), geo: field('geo'), service: field('service') };
  }

  encode(event: ApiCallEvent, raw: Buffer | undefined, enrichment: Enrichment): Buffer {
    const body = raw === undefined ? undefined : this.bodyOf(raw);
    const id = this.enrichedSerde.registeredId;
    if (body === undefined || id === undefined) return this.enrichedSerde.encode({ event, enrichment });
    const parts = [this.enrichedAt(enrichment.enrichedAt), this.part(this.types.identity, enrichment.identity), this.part(this.types.geo, enrichment.geo), this.part(this.types.service, enrichment.service)];
    let length = HEADER_BYTES + body.length;
    for (const p of parts) length += p.length;
    const out = Buffer.allocUnsafe(length);
    out[0] = 0;
    out.writeInt32BE(id, 1);
    // Uint8Array.set: a plain memory copy, without Buffer.copy's argument handling, per part.
    out.set(body, HEADER_BYTES);
    let offset = HEADER_BYTES + body.length;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  /**
   * The raw message's Avro body when it was written with the reader's schema. The answer depends
   * on the schema id alone and nearly every message has the same one: asked once per id in a row,
   * not once per event.
   */
  private bodyOf(raw: Buffer): Buffer | undefined {
    if (raw.length < HEADER_BYTES || raw[0] !== 0) return undefined;
    const id = raw.readInt32BE(1);
    if (id !== this.lastSchemaId) {
      const body = this.eventSerde.bodyIfReaderSchema(raw);
      // Only a decided answer is remembered: an id the serde has not prepared yet is asked again.
      if (body !== undefined) {
        this.lastSchemaId = id;
        return body;
      }
      return undefined;
    }
    return raw.subarray(HEADER_BYTES);
  }

  /** A batch shares one enrichedAt. */
  private enrichedAt(ms: number): Buffer {
    if (this.lastEnrichedAt?.ms !== ms) this.lastEnrichedAt = { ms, bytes: this.types.enrichedAt.toBuffer(ms) };
    return this.lastEnrichedAt.bytes;
  }

  private part(type: Type, value: object | null): Buffer {
    if (value === null) return NULL_BRANCH;
    let bytes = this.encoded.get(value);
    if (bytes === undefined) {
      bytes = type.toBuffer(value);
      this.encoded.set(value, bytes);
    }
    return bytes;
  }
}
