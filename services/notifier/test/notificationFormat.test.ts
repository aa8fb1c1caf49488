import { describe, expect, it } from 'vitest';
import { KEY, sampleDelivery } from './fixtures.js';
import { cloudTrailMessage, cloudTrailMessageBytes, keyBytes, notificationId, notificationRecord, webhookBody } from '../src/notificationFormat.js';

describe('CloudTrail SNS message', () => {
  it('is the JSON text of exactly s3Bucket and the s3ObjectKey array (cloudtrail-spec.md §4)', () => {
    const text = cloudTrailMessage('your-bucket-name', [KEY, KEY.replace('kpaMYavMQA9Ahp7L', 'zqDkyQv3TK8ZdLr0')]);
    expect(text).toBe(`{"s3Bucket":"your-bucket-name","s3ObjectKey":["${KEY}","${KEY.replace('kpaMYavMQA9Ahp7L', 'zqDkyQv3TK8ZdLr0')}"]}`);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['s3Bucket', 's3ObjectKey']);
  });

  it('knows its byte size without building it, escapes and multi-byte characters included', () => {
    const keys = [KEY, 'prefix "quoted"/AWSLogs/x\\y', 'préfixe/日本/AWSLogs/k.json.gz', ''];
    for (let n = 0; n <= keys.length; n++) {
      const some = keys.slice(0, n);
      expect(cloudTrailMessageBytes('b.u-c', some)).toBe(Buffer.byteLength(cloudTrailMessage('b.u-c', some)));
    }
    let bytes = cloudTrailMessageBytes('b', []);
    keys.forEach((k, i) => (bytes += keyBytes(k, i)));
    expect(bytes).toBe(Buffer.byteLength(cloudTrailMessage('b', keys)));
  });
});

describe('idempotency keys', () => {
  it('is the delivery id for one delivery, so every target announces it under the same key', () => {
    const d = sampleDelivery();
    expect(notificationId([d.deliveryId])).toBe(d.deliveryId);
    expect(notificationRecord(d, 0).notificationId).toBe(d.deliveryId);
    expect((JSON.parse(webhookBody(d)) as { notificationId: string }).notificationId).toBe(d.deliveryId);
  });

  it('derives from the set of delivery ids for several: the same set gives the same key, another set another', () => {
    const a = 'a'.repeat(32);
    const b = 'b'.repeat(32);
    const c = 'c'.repeat(32);
    expect(notificationId([a, b])).toMatch(/^[0-9a-f]{32}$/);
    expect(notificationId([a, b])).toBe(notificationId([b, a]));
    expect(notificationId([a, b, b])).toBe(notificationId([a, b]));
    expect(notificationId([a, b])).not.toBe(notificationId([a, c]));
    expect(notificationId([a, b])).not.toBe(notificationId([a, b, c]));
    expect(() => notificationId([])).toThrow();
  });
});

describe('webhook body and notifications record', () => {
  it('the webhook body is the same text on every call (a repeat is byte-identical) and carries CloudTrail\'s two keys', () => {
    const d = sampleDelivery();
    expect(webhookBody(d)).toBe(webhookBody(structuredClone(d)));
    const body = JSON.parse(webhookBody(d)) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'opentrail.delivery',
      kind: 'LOG',
      s3Bucket: 'audit-bucket',
      s3ObjectKey: [KEY],
      trailName: 'audit',
      accountId: '111122223333',
      region: 'us-east-2',
      deliveredAt: '2016-08-11T22:15:03.000Z',
      oldestEventTime: '2016-08-11T22:10:00.000Z',
      sha256: 'ab'.repeat(32),
    });
  });

  it('the notifications record holds the CloudTrail message of its one key', () => {
    const record = notificationRecord(sampleDelivery({ kind: 'INSIGHT' }), 42);
    expect(record).toMatchObject({ kind: 'INSIGHT', s3Bucket: 'audit-bucket', s3ObjectKey: KEY, notifiedAt: 42, deliveredAt: Date.UTC(2016, 7, 11, 22, 15, 3) });
    expect(JSON.parse(record.message)).toEqual({ s3Bucket: 'audit-bucket', s3ObjectKey: [KEY] });
  });
});
