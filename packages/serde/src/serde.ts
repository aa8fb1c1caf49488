import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { TimeoutMiddleware } from 'mappersmith/middleware/timeout';
import type avro from 'avsc';
import { SerdeError } from './errors.js';
import { registerSubjectSchema } from './registration.js';
import type { LoadedSchema } from './schemas.js';

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body. */
const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

export interface RegistryOptions {
  url: string;
  username?: string;
  password?: string;
  /** How long one request may go unanswered before it fails (and counts as the registry unavailable). */
  requestTimeoutMs?: number;
}

/**
 * The client has no request timeout of its own: a registry that accepts a connection and never
 * answers (Apicurio under load did, once in a CI run) would hang a service's start, or a test, for
 * good. With one, such a request fails as "unavailable" and registration retries it (registration.ts).
 */
export const DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS = 10_000;

export function createSchemaRegistry(options: RegistryOptions): SchemaRegistry {
  return new SchemaRegistry({
    host: options.url,
    clientId: 'opentrail',
    auth: options.username ? { username: options.username, password: options.password ?? '' } : undefined,
    retry: { retries: 3, initialRetryTimeInSecs: 0.2, maxRetryTimeInSecs: 2 },
    middlewares: [TimeoutMiddleware(options.requestTimeoutMs ?? DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS)],
  });
}

/** The schema id of a Confluent-framed message, or undefined if the framing is wrong. */
export function schemaIdOf(buffer: Buffer | null): number | undefined {
  if (!buffer || buffer.length < HEADER_BYTES || buffer[0] !== MAGIC_BYTE) return undefined;
  return buffer.readInt32BE(1);
}

/**
 * Encodes and decodes one topic's values. Types and resolvers are built once per schema id, never
 * per message: the registry client's own decode() rebuilds the reader type and its resolver on every
 * call when a reader schema is given, which would dominate the hot path.
 *
 * Decoding always yields the reader schema's shape (the schema this code was built with): data
 * written with an older or newer compatible schema is resolved into it.
 */
export class AvroSerde<T> {
  private writerId: number | undefined;
  /** Per writer schema id: how to read it, or the error that makes it unreadable. */
  private readonly readers = new Map<number, { resolver?: avro.Resolver } | SerdeError>();

  constructor(
    private readonly registry: SchemaRegistry,
    readonly schema: LoadedSchema,
  ) {}

  /**
   * Registers the schema under the subject (TopicNameStrategy: `<topic>-value`) with BACKWARD
   * compatibility, and encodes with the returned id from then on. Safe for any number of instances
   * at once (registration.ts). An incompatible schema is refused by the registry and this throws.
   */
  async register(subject: string): Promise<number> {
    const id = await registerSubjectSchema(this.registry, subject, this.schema.canonical);
    this.writerId = id;
    this.readers.set(id, {});
    return id;
  }

  get registeredId(): number | undefined {
    return this.writerId;
  }

  encode(value: T): Buffer {
    if (this.writerId === undefined) throw new Error(`${this.schema.name}: register() before encode()`);
    const body = this.schema.type.toBuffer(value);
    const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    out[0] = MAGIC_BYTE;
    out.writeInt32BE(this.writerId, 1);
    body.copy(out, HEADER_BYTES);
    return out;
  }

  /**
   * Fetches, once, the writer schemas of these messages so that decode() can run synchronously.
   * Unknown ids are remembered as such (they become dead letters); a registry that cannot be
   * reached throws a retriable error instead, since that says nothing about the message.
   */
  async prepare(buffers: Iterable<Buffer | null>): Promise<void> {
    const missing = new Set<number>();
    for (const buffer of buffers) {
      const id = schemaIdOf(buffer);
      if (id !== undefined && !this.readers.has(id)) missing.add(id);
    }
    await Promise.all([...missing].map((id) => this.learn(id)));
  }

  private async learn(id: number): Promise<void> {
    let writer: avro.Type;
    try {
      writer = (await this.registry.getSchema(id)) as unknown as avro.Type;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404) {
        this.readers.set(id, new SerdeError('UNKNOWN_SCHEMA_ID', `schema id ${id} is not in the registry`));
        return;
      }
      throw new SerdeError('REGISTRY_UNAVAILABLE', `fetching schema id ${id}: ${(err as Error).message}`, { cause: err });
    }
    if (typeof (writer as { createResolver?: unknown }).createResolver !== 'function') {
      this.readers.set(id, new SerdeError('INCOMPATIBLE_SCHEMA', `schema id ${id} is not an Avro schema`));
      return;
    }
    if (this.schema.type.equals(writer)) {
      this.readers.set(id, {});
      return;
    }
    try {
      this.readers.set(id, { resolver: this.schema.type.createResolver(writer) });
    } catch (err) {
      this.readers.set(
        id,
        new SerdeError('INCOMPATIBLE_SCHEMA', `schema id ${id} (${writer.name ?? writer.typeName}) cannot be read as ${this.schema.name}: ${(err as Error).message}`),
      );
    }
  }

  /** Decodes one message; prepare() must have seen its schema id. Throws SerdeError. */
  decode(buffer: Buffer | null): T {
    if (!buffer || buffer.length === 0) throw new SerdeError('EMPTY', 'message has no value');
    const id = schemaIdOf(buffer);
    if (id === undefined) {
      throw new SerdeError('MAGIC_BYTE', `not Confluent-framed Avro: ${buffer.length < HEADER_BYTES ? `only ${buffer.length} bytes` : `magic byte ${buffer[0]}, expected 0`}`);
    }
    const reader = this.readers.get(id);
    if (reader === undefined) throw new Error(`schema id ${id} not prepared; call prepare() first`);
    if (reader instanceof SerdeError) throw reader;
    try {
      return this.schema.type.fromBuffer(buffer.subarray(HEADER_BYTES), reader.resolver) as T;
    } catch (err) {
      throw new SerdeError('AVRO_DECODE', `body does not decode with schema id ${id}: ${(err as Error).message}`);
    }
  }

  /**
   * The Avro body of a message written with exactly this reader's schema (prepare() must have seen
   * its id), or undefined when it was written with another schema (it needs resolving) or cannot be
   * read. Such a body can be copied as is into a record that embeds this type, without decoding and
   * encoding it again (Avro encodes a record as its fields' encodings one after another).
   */
  bodyIfReaderSchema(buffer: Buffer | null): Buffer | undefined {
    const id = schemaIdOf(buffer);
    if (id === undefined) return undefined;
    const reader = this.readers.get(id);
    return reader !== undefined && !(reader instanceof SerdeError) && reader.resolver === undefined ? buffer!.subarray(HEADER_BYTES) : undefined;
  }

  async decodeOne(buffer: Buffer | null): Promise<T> {
    await this.prepare([buffer]);
    return this.decode(buffer);
  }
}
