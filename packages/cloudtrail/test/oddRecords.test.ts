import { describe, expect, it } from 'vitest';
import { loadSchemas, type ApiCallEvent } from '@opentrail/serde';
import { ODD_RECORDS } from '../../../test/fixtures/odd-records.js';
import { canonicalJson } from '../../../test/helpers/canonical.js';
import { InvalidRecordError, acceptRecord, validateApiCallEvent, writeRecordJson, type CloudTrailRecord } from '../src/index.js';

const type = loadSchemas().ApiCallEvent.type;

const base = (): CloudTrailRecord => ({
  eventVersion: '1.11',
  userIdentity: { type: 'IAMUser', accountId: '123456789012', arn: 'arn:aws:iam::123456789012:user/alice', userName: 'alice' },
  eventTime: '2026-03-01T12:00:00Z',
  eventSource: 'billing.example.com',
  eventName: 'CreateInvoice',
  awsRegion: 'eu-west-1',
  sourceIPAddress: '81.2.69.142',
  requestParameters: { customerId: 'c-42' },
  eventID: '0b1c2d3e-0000-4000-8000-000000000001',
});

/** What a consumer reads back from the log file for an accepted record. */
function throughAvroAndLogFile(event: ApiCallEvent): { line: string; decoded: ApiCallEvent; avroBytes: number } {
  const bytes = type.toBuffer(event);
  const decoded = type.fromBuffer(bytes) as ApiCallEvent;
  return { line: writeRecordJson(decoded), decoded, avroBytes: bytes.length };
}

describe('odd records (test/fixtures/odd-records.ts): carried exactly or refused naming the member', () => {
  for (const odd of ODD_RECORDS) {
    it(odd.name, () => {
      const input = odd.record(base());
      if (odd.expect === 'carried') {
        const accepted = acceptRecord(input);
        const { line, decoded, avroBytes } = throughAvroAndLogFile(accepted.event);
        expect(canonicalJson(JSON.parse(line))).toBe(canonicalJson(input));
        expect(Buffer.byteLength(line)).toBe(accepted.jsonBytes);
        // The consumers' check agrees with the producer's.
        expect(validateApiCallEvent(decoded, avroBytes)).toBeUndefined();
        return;
      }
      let error: unknown;
      try {
        acceptRecord(input);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidRecordError);
      const { member, reason } = odd.expect;
      const problems = (error as InvalidRecordError).problems;
      expect(problems.some((p) => p.member.startsWith(member) && reason.test(p.problem)), JSON.stringify(problems).slice(0, 500)).toBe(true);
    });
  }

  it('keeps a __proto__ member as a member, not as a prototype', () => {
    const input = JSON.parse('{"eventTime":"2026-03-01T12:00:00Z","awsRegion":"us-east-1","eventSource":"s","eventName":"n","recipientAccountId":"123456789012","__proto__":{"admin":true},"userIdentity":{"__proto__":"x","accountId":"123456789012"}}') as CloudTrailRecord;
    const out = JSON.parse(throughAvroAndLogFile(acceptRecord(input).event).line) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ admin: true });
    expect(Object.getOwnPropertyDescriptor(out.userIdentity, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});
