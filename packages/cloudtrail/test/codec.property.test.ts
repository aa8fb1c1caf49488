import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadSchemas, type ApiCallEvent } from '@opentrail/serde';
import { cloudTrailRecord } from '../../../test/fixtures/arbitraries.js';
import { canonicalJson } from '../../../test/helpers/canonical.js';
import { InvalidRecordError, MAX_EVENT_BYTES, acceptRecord, validateApiCallEvent, writeRecordJson } from '../src/index.js';
import { JSON_BYTES_FIXED, JSON_BYTES_PER_AVRO_BYTE, type AcceptedRecord } from '../src/validate.js';

const type = loadSchemas().ApiCallEvent.type;

/** acceptRecord's answer: the accepted record, or the typed refusal (any other error fails the test). */
function accept(input: unknown): AcceptedRecord | InvalidRecordError {
  try {
    return acceptRecord(input);
  } catch (err) {
    if (err instanceof InvalidRecordError) return err;
    throw err;
  }
}

/** What the log file says for an accepted record, after Avro bytes as Kafka holds them. */
function delivered(accepted: AcceptedRecord) {
  const bytes = type.toBuffer(accepted.event);
  const decoded = type.fromBuffer(bytes) as ApiCallEvent;
  const line = writeRecordJson(decoded);
  return { bytes, decoded, line };
}

describe('record -> Avro -> log line (property)', () => {
  it('either gives back an equal record, or refuses it with a typed error naming members', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(cloudTrailRecord(true), (input) => {
        const answer = accept(input);
        if (answer instanceof InvalidRecordError) {
          refused++;
          expect(answer.problems.length).toBeGreaterThan(0);
          for (const p of answer.problems) {
            expect(p.member).not.toBe('');
            expect(p.problem).not.toBe('');
          }
          return;
        }
        accepted++;
        const { bytes, decoded, line } = delivered(answer);
        expect(canonicalJson(JSON.parse(line))).toBe(canonicalJson(input));
        expect(Buffer.byteLength(line)).toBe(answer.jsonBytes);
        expect(answer.jsonBytes).toBeLessThanOrEqual(MAX_EVENT_BYTES);
        // One size rule: what the producer accepted, the enricher and the archiver accept.
        expect(validateApiCallEvent(decoded, bytes.length + 5)).toBeUndefined();
        // The bound the consumers use to skip measuring small events holds.
        expect(answer.jsonBytes).toBeLessThanOrEqual(bytes.length * JSON_BYTES_PER_AVRO_BYTE + JSON_BYTES_FIXED);
      }),
      { numRuns: 400 },
    );
    // Both outcomes were exercised (a generator that only ever produced one would prove little).
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });

  it('accepts every record made only of JSON data within the limits, and carries it exactly', () => {
    fc.assert(
      fc.property(cloudTrailRecord(false), (input) => {
        const answer = accept(input);
        if (answer instanceof InvalidRecordError) expect.fail(answer.message.slice(0, 400));
        expect(canonicalJson(JSON.parse(delivered(answer).line))).toBe(canonicalJson(input));
      }),
      { numRuns: 300 },
    );
  });
});
