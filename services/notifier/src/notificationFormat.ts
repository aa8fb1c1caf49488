import { createHash } from 'node:crypto';
import type { Delivery, Notification } from '@opentrail/serde';

/**
 * The idempotency key of a notification, from the delivery ids it announces: a delivery's id when
 * it announces one (so the webhook, the Kafka record and a one-key SNS message of the same delivery
 * share it), else a hash of the sorted ids. Delivery ids are stable per (bucket, key, content), so
 * announcing the same deliveries again yields the same key.
 */
export function notificationId(deliveryIds: readonly string[]): string {
  if (deliveryIds.length === 0) throw new Error('a notification announces at least one delivery');
  if (deliveryIds.length === 1) return deliveryIds[0]!;
  const hash = createHash('sha256');
  for (const id of [...new Set(deliveryIds)].sort()) hash.update(`${id}\n`);
  return hash.digest('hex').slice(0, 32);
}

/**
 * The `Message` of CloudTrail's SNS notification (cloudtrail-spec.md §4): JSON text with exactly
 * `s3Bucket` and the `s3ObjectKey` array, nothing else (CPL copies any other top-level key into
 * its attributes, so an extra key would not be CloudTrail's message any more).
 */
export function cloudTrailMessage(bucket: string, keys: readonly string[]): string {
  return JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys });
}

/** UTF-8 size of cloudTrailMessage(bucket, keys) without building it. */
export function cloudTrailMessageBytes(bucket: string, keys: readonly string[]): number {
  // {"s3Bucket":<bucket>,"s3ObjectKey":[<k1>,<k2>]}
  let bytes = Buffer.byteLength('{"s3Bucket":,"s3ObjectKey":[]}') + Buffer.byteLength(JSON.stringify(bucket));
  keys.forEach((key, i) => (bytes += Buffer.byteLength(JSON.stringify(key)) + (i > 0 ? 1 : 0)));
  return bytes;
}

/** Bytes one more key adds to a message that already holds `existing` keys. */
export function keyBytes(key: string, existing: number): number {
  return Buffer.byteLength(JSON.stringify(key)) + (existing > 0 ? 1 : 0);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The JSON body of a webhook: one delivery. `s3Bucket` and `s3ObjectKey` are CloudTrail's message
 * (a receiver can hand the body to code written for CloudTrail's SNS messages); the rest says which
 * trail, account and region the object belongs to and what it holds. The body is the same on every
 * attempt (only the signature's timestamp changes), so a repeat is byte-identical.
 */
export function webhookBody(delivery: Delivery): string {
  return JSON.stringify({
    type: 'opentrail.delivery',
    notificationId: notificationId([delivery.deliveryId]),
    kind: delivery.kind,
    s3Bucket: delivery.bucket,
    s3ObjectKey: [delivery.key],
    trailName: delivery.trailName,
    trailArn: delivery.trailArn,
    homeRegion: delivery.homeRegion,
    accountId: delivery.accountId,
    region: delivery.region,
    organizationId: delivery.organizationId,
    deliveryId: delivery.deliveryId,
    recordCount: delivery.recordCount,
    compressedBytes: delivery.compressedBytes,
    uncompressedBytes: delivery.uncompressedBytes,
    sha256: delivery.sha256,
    oldestEventTime: iso(delivery.oldestEventTime),
    newestEventTime: iso(delivery.newestEventTime),
    deliveredAt: iso(delivery.deliveredAt),
  });
}

/** The record of the notifications topic for one delivery. */
export function notificationRecord(delivery: Delivery, notifiedAt: number): Notification {
  return {
    notificationId: notificationId([delivery.deliveryId]),
    deliveryId: delivery.deliveryId,
    kind: delivery.kind,
    trailName: delivery.trailName,
    trailArn: delivery.trailArn,
    s3Bucket: delivery.bucket,
    s3ObjectKey: delivery.key,
    accountId: delivery.accountId,
    region: delivery.region,
    organizationId: delivery.organizationId,
    recordCount: delivery.recordCount,
    compressedBytes: delivery.compressedBytes,
    sha256: delivery.sha256,
    deliveredAt: delivery.deliveredAt,
    notifiedAt,
    message: cloudTrailMessage(delivery.bucket, [delivery.key]),
  };
}
