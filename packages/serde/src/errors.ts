import { OpentrailError } from '@opentrail/errors';

/**
 * Why a message could not be read. A closed list: dead-letter headers carry the code, metrics label
 * by it, and code branches on it (never on message text).
 */
export const SERDE_ERROR_CODES = {
  /** The value is missing or empty. */
  EMPTY: { canRetry: false },
  /** Not Confluent framing: too short, or the first byte is not 0. */
  MAGIC_BYTE: { canRetry: false },
  /** The schema id is not in the registry. */
  UNKNOWN_SCHEMA_ID: { canRetry: false },
  /** Valid Avro of a schema this reader cannot resolve (another record type, or an incompatible change). */
  INCOMPATIBLE_SCHEMA: { canRetry: false },
  /** The body does not decode with its own writer schema (truncated or corrupt). */
  AVRO_DECODE: { canRetry: false },
  /** The registry could not be reached: says nothing about the message, so retry rather than dead-letter. */
  REGISTRY_UNAVAILABLE: { canRetry: true },
} as const;

export type SerdeErrorCode = keyof typeof SERDE_ERROR_CODES;

export class SerdeError extends OpentrailError<SerdeErrorCode> {
  constructor(code: SerdeErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, { cause: options?.cause, canRetry: SERDE_ERROR_CODES[code].canRetry });
  }
}
