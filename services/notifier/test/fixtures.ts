import type { Delivery } from '@opentrail/serde';

/** A log-file key as CloudTrail writes it (cloudtrail-spec.md §4's example). */
export const KEY = 'AWSLogs/111122223333/CloudTrail/us-east-2/2016/08/11/111122223333_CloudTrail_us-east-2_20160811T2215Z_kpaMYavMQA9Ahp7L.json.gz';

/** A delivery record of the archiver's shape. */
export function sampleDelivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    deliveryId: '0123456789abcdef0123456789abcdef',
    kind: 'LOG',
    trailName: 'audit',
    trailArn: 'arn:aws:cloudtrail:us-east-2:111122223333:trail/audit',
    homeRegion: 'us-east-2',
    bucket: 'audit-bucket',
    key: KEY,
    accountId: '111122223333',
    region: 'us-east-2',
    organizationId: null,
    recordCount: 12,
    uncompressedBytes: 9000,
    compressedBytes: 1200,
    sha256: 'ab'.repeat(32),
    oldestEventTime: Date.UTC(2016, 7, 11, 22, 10),
    newestEventTime: Date.UTC(2016, 7, 11, 22, 14),
    deliveredAt: Date.UTC(2016, 7, 11, 22, 15, 3),
    encryption: { mode: 'SSE_S3', kmsKeyId: null },
    source: null,
    digest: null,
    ...overrides,
  };
}
