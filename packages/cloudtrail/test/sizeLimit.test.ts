import { describe, expect, it } from 'vitest';
import { loadSchemas, type ApiCallEvent, type EnrichedEvent } from '@opentrail/serde';
import { recordOfSize } from '../../../test/helpers/recordSize.js';
import { ENRICHMENT_HEADROOM_BYTES, MAX_MESSAGE_BYTES, MAX_USER_IDENTITY_BYTES } from '../src/record.js';
import { InvalidRecordError, MAX_EVENT_BYTES, acceptRecord, toApiCallEvent, validateApiCallEvent, type CloudTrailRecord } from '../src/index.js';

const schemas = loadSchemas();
const base: CloudTrailRecord = {
  eventVersion: '1.11',
  userIdentity: { type: 'IAMUser', accountId: '123456789012', arn: 'arn:aws:iam::123456789012:user/ünïcødé', userName: 'ünïcødé' },
  eventTime: '2026-03-01T12:00:00Z',
  eventSource: 'billing.example.com',
  eventName: 'CreateInvoice',
  awsRegion: 'eu-west-1',
  eventID: '0b1c2d3e-0000-4000-8000-000000000002',
  requestParameters: { note: '日本語' },
};

/** The consumers' verdict (enricher, archiver) on the event as it travels. */
function consumerVerdict(event: ApiCallEvent): string | undefined {
  return validateApiCallEvent(event, schemas.ApiCallEvent.type.toBuffer(event).length);
}

describe('one size limit (MAX_EVENT_BYTES, the log line) at the producer and the consumers', () => {
  it.each([
    ['limit - 1', MAX_EVENT_BYTES - 1, true],
    ['limit', MAX_EVENT_BYTES, true],
    ['limit + 1', MAX_EVENT_BYTES + 1, false],
  ])('%s bytes of multi-byte characters', (_label, bytes, accepted) => {
    const record = recordOfSize(base, bytes);
    const verdict = consumerVerdict(toApiCallEvent(record));
    if (accepted) {
      expect(acceptRecord(record).jsonBytes).toBe(bytes);
      expect(verdict).toBeUndefined();
    } else {
      expect(() => acceptRecord(record)).toThrow(InvalidRecordError);
      expect(() => acceptRecord(record)).toThrow(`(record) is ${bytes} bytes as JSON in the log file; CloudTrail's limit is 262144 (256 KB)`);
      expect(verdict).toBe(`event is ${bytes} bytes as JSON in the log file; CloudTrail's limit is 262144 (256 KB)`);
    }
  });

  it('measures bytes, not characters: 262144 characters of é are refused', () => {
    const record = { ...base, requestParameters: { pad: 'é'.repeat(MAX_EVENT_BYTES / 2) } };
    expect(() => acceptRecord(record)).toThrow(/is \d+ bytes as JSON/);
  });

  it('leaves room for the largest enrichment: an accepted record of the limit always fits a Kafka message', () => {
    // userIdentity as large as allowed, every identifier the enricher copies as long as it can be.
    const arn = `arn:aws:sts::123456789012:assumed-role/${'r'.repeat(3000)}`;
    const userIdentity = {
      type: 'AssumedRole', accountId: '123456789012', arn, principalId: `AROA:${'p'.repeat(3000)}`, userName: 'u'.repeat(3000),
      sessionContext: { sessionIssuer: { type: 'Role', arn, principalId: 'AROA', accountId: '123456789012', userName: 'u'.repeat(2000) } },
    };
    const identityBytes = Buffer.byteLength(JSON.stringify(userIdentity));
    expect(identityBytes).toBeLessThanOrEqual(MAX_USER_IDENTITY_BYTES);
    const record = recordOfSize({ ...base, userIdentity }, MAX_EVENT_BYTES);
    const { event } = acceptRecord(record);
    const enriched: EnrichedEvent = {
      event,
      enrichment: {
        enrichedAt: Date.now(),
        identity: {
          source: 'event', principalType: 'AssumedRole', principalArn: arn, principalId: userIdentity.principalId, accountId: '123456789012', userName: userIdentity.userName,
          session: { roleArn: arn, sessionName: userIdentity.userName, sessionArn: arn, sourceIdentity: userIdentity.userName, mfaAuthenticated: true, issuedBy: 'AssumeRole', expiresAt: Date.now() },
          actor: { type: 'Role', arn: arn, principalId: userIdentity.principalId, accountId: '123456789012', userName: userIdentity.userName, accessKeyId: 'ASIA' },
          chain: [arn, arn, arn, arn],
        },
        geo: null,
        service: null,
      },
    };
    const message = 5 + schemas.EnrichedEvent.type.toBuffer(enriched).length;
    const enrichment = message - 5 - schemas.ApiCallEvent.type.toBuffer(event).length;
    expect(enrichment).toBeLessThan(ENRICHMENT_HEADROOM_BYTES);
    expect(message).toBeLessThan(MAX_MESSAGE_BYTES);
  });
});
