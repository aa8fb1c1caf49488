import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * The lake's objects in S3: each segment's manifest, and the Parquet files of the stores.
 *
 * A segment is a contiguous range of one input partition's offsets. Its manifest
 * (`<prefix>/_segments/<topic>/<partition>/<first offset>.json`, `{first, last}`) is stored before
 * any of its files, so that whoever reads the partition again from `first` (after a crash or a
 * rebalance) rebuilds exactly the same segment: same records, so the same files under the same keys,
 * which overwrite rather than duplicate.
 */

export interface SegmentManifest {
  first: bigint;
  last: bigint;
}

export interface SegmentStoreOptions {
  s3: S3Client;
  bucket: string;
  prefix: string;
  topic: string;
}

const MANIFEST_LIMIT_BYTES = 4096;

export class SegmentStore {
  constructor(private readonly o: SegmentStoreOptions) {}

  manifestKey(partition: number, first: bigint): string {
    return `${this.o.prefix}/_segments/${this.o.topic}/${partition}/${first.toString().padStart(20, '0')}.json`;
  }

  /** The manifest of the segment starting at `first`, if one was stored. */
  async readManifest(partition: number, first: bigint, signal?: AbortSignal): Promise<SegmentManifest | undefined> {
    try {
      const out = await this.o.s3.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: this.manifestKey(partition, first) }), { abortSignal: signal });
      const text = (await out.Body!.transformToString()).slice(0, MANIFEST_LIMIT_BYTES);
      const parsed = JSON.parse(text) as { first?: unknown; last?: unknown };
      if (typeof parsed.first !== 'string' || typeof parsed.last !== 'string' || !/^\d{1,20}$/.test(parsed.first) || !/^\d{1,20}$/.test(parsed.last)) {
        throw new Error(`the manifest ${this.manifestKey(partition, first)} is not {first, last}`);
      }
      const manifest = { first: BigInt(parsed.first), last: BigInt(parsed.last) };
      if (manifest.first !== first || manifest.last < first) throw new Error(`the manifest ${this.manifestKey(partition, first)} names offsets ${manifest.first}..${manifest.last}`);
      return manifest;
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async writeManifest(partition: number, manifest: SegmentManifest, signal?: AbortSignal): Promise<void> {
    const body = JSON.stringify({ first: manifest.first.toString(), last: manifest.last.toString() });
    await this.o.s3.send(new PutObjectCommand({ Bucket: this.o.bucket, Key: this.manifestKey(partition, manifest.first), Body: body, ContentType: 'application/json' }), { abortSignal: signal });
  }

  async putFile(key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.o.s3.send(new PutObjectCommand({ Bucket: this.o.bucket, Key: key, Body: bytes, ContentType: 'application/vnd.apache.parquet' }), { abortSignal: signal });
  }

  /** The days (`eventdate=` folders) a store's table holds. */
  async days(storeId: string): Promise<string[]> {
    const days: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.o.s3.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: `${this.o.prefix}/${storeId}/`, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }));
      for (const p of out.CommonPrefixes ?? []) {
        const m = /eventdate=(\d{4}-\d{2}-\d{2})\/$/.exec(p.Prefix ?? '');
        if (m) days.push(m[1]!);
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return days.sort();
  }

  /** Deletes every object under `<prefix>/<storeId>/` whose key starts with `under` (a day folder, or the whole table). */
  async deleteUnder(storeId: string, under = ''): Promise<number> {
    let deleted = 0;
    let token: string | undefined;
    do {
      const out = await this.o.s3.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: `${this.o.prefix}/${storeId}/${under}`, ...(token ? { ContinuationToken: token } : {}) }));
      const keys = (out.Contents ?? []).map((c) => ({ Key: c.Key! }));
      if (keys.length > 0) {
        await this.o.s3.send(new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: keys, Quiet: true } }));
        deleted += keys.length;
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return deleted;
  }
}
