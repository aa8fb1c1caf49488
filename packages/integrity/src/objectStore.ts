import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { OpentrailError } from '@opentrail/errors';

/** What the validator reads from S3: listings, and objects with their user metadata. */
export interface ObjectStore {
  /** Keys under `prefix` after `startAfter`, in S3's (lexicographic) order. */
  listKeys(bucket: string, prefix: string, startAfter: string): AsyncIterable<string>;
  /** Throws NoSuchKeyError when the object does not exist. */
  getObject(bucket: string, key: string): Promise<{ body: Buffer; metadata: Record<string, string> }>;
  /** Common prefixes one level below `prefix` (for the organization id of org trails). */
  listFolders(bucket: string, prefix: string): Promise<string[]>;
}

export class NoSuchKeyError extends OpentrailError<'NO_SUCH_KEY'> {
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super('NO_SUCH_KEY', `An error occurred (NoSuchKey) when calling the GetObject operation: The specified key does not exist.`);
  }
}

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  async *listKeys(bucket: string, prefix: string, startAfter: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, StartAfter: startAfter, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async getObject(bucket: string, key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { body: Buffer.from(await out.Body!.transformToByteArray()), metadata: out.Metadata ?? {} };
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') throw new NoSuchKeyError(bucket, key);
      throw err;
    }
  }

  async listFolders(bucket: string, prefix: string): Promise<string[]> {
    const out = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/' }));
    return (out.CommonPrefixes ?? []).map((p) => p.Prefix!).filter(Boolean);
  }
}
