import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { decodeLakeParquet, eventDataStoreSchema, openEventDataStoreCatalog, type EventDataStoreCatalogHandle, type EventDataStoreInput, type EventDataStoreRecord, type LakeFileRow } from '@opentrail/lake';
import { createLogger } from '@opentrail/observability';
import type { KafkaClient } from '@opentrail/runtime';
import { testRegistry } from '../helpers/env.js';

/** The event data stores topic of a test's prefix, opened as the API opens it (to make stores without an API). */
export async function openStores(kafka: KafkaClient, prefix: string): Promise<EventDataStoreCatalogHandle> {
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  return openEventDataStoreCatalog({ kafka, registry: testRegistry(), topic: `${prefix}eventdatastores`, logger: createLogger('test', 'warn', quiet), groupIdPrefix: 'lake-test' });
}

export function storeRecord(input: Partial<EventDataStoreInput> & { accountId: string }): EventDataStoreRecord {
  const now = Date.now();
  const definition = eventDataStoreSchema.parse({ id: randomUUID(), name: `store-${now.toString(36)}`, homeRegion: 'us-east-1', retentionPeriodDays: 366, ...input });
  return { definition, status: 'ENABLED', tags: [], createdAt: now, updatedAt: now };
}

/** Every Parquet file of a store's table, decoded, with its key. */
export async function readStoreFiles(s3: S3Client, bucket: string, prefix: string, storeId: string): Promise<{ key: string; rows: LakeFileRow[] }[]> {
  const files: { key: string; rows: LakeFileRow[] }[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/${storeId}/`, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of out.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      files.push({ key: o.Key!, rows: decodeLakeParquet(await body.Body!.transformToByteArray()) });
    }
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return files;
}
