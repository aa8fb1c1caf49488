import { createHash } from 'node:crypto';
import type { Delivery, DeliveryEncryption } from '@opentrail/serde';
import type { CompiledTrail, TrailEncryption } from '@opentrail/trails';
import type { ClosedLogFile } from '@opentrail/logfiles';

/** Stable per (bucket, key, sha256): a repeat of the same delivery has the same id. */
export function deliveryId(bucket: string, key: string, sha256: string): string {
  return createHash('sha256').update(`${bucket}\n${key}\n${sha256}`).digest('hex').slice(0, 32);
}

export function deliveryEncryption(encryption: TrailEncryption): DeliveryEncryption {
  return { mode: encryption.mode, kmsKeyId: encryption.mode === 'SSE_KMS' || encryption.mode === 'CSE_KMS' ? encryption.kmsKeyId : null };
}

export interface DeliveredFile {
  trail: CompiledTrail;
  kind: Delivery['kind'];
  accountId: string;
  region: string;
  key: string;
  file: ClosedLogFile;
  deliveredAtMs: number;
  source: { topic: string; partition: number };
}

/** The delivery record of one log (or Insights) file: what the digester and the notifier read. */
export function deliveryRecord(d: DeliveredFile): Delivery {
  const { trail } = d.trail;
  return {
    deliveryId: deliveryId(trail.bucket, d.key, d.file.sha256),
    kind: d.kind,
    trailName: trail.name,
    trailArn: d.trail.arn,
    homeRegion: trail.homeRegion,
    bucket: trail.bucket,
    key: d.key,
    accountId: d.accountId,
    region: d.region,
    organizationId: trail.organizationId ?? null,
    recordCount: d.file.records,
    uncompressedBytes: d.file.uncompressedBytes,
    compressedBytes: d.file.body.length,
    sha256: d.file.sha256,
    oldestEventTime: Number.isFinite(d.file.oldestEventTimeMs) ? d.file.oldestEventTimeMs : null,
    newestEventTime: Number.isFinite(d.file.newestEventTimeMs) ? d.file.newestEventTimeMs : null,
    deliveredAt: d.deliveredAtMs,
    encryption: deliveryEncryption(trail.encryption),
    source: { topic: d.source.topic, partition: d.source.partition, firstOffset: Number(d.file.firstOffset), lastOffset: Number(d.file.lastOffset) },
    digest: null,
  };
}

/** Kafka key of a delivery record: every delivery of one (trail, account, region) in one partition, in order. */
export function deliveryKey(trailName: string, accountId: string, region: string): string {
  return `${trailName}/${accountId}/${region}`;
}
