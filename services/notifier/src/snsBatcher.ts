import { cloudTrailMessageBytes, keyBytes } from './notificationFormat.js';

/** Keys of one trail (and bucket) that go out as one SNS message. */
export interface SnsBatch<T> {
  trailName: string;
  bucket: string;
  keys: string[];
  /** What the caller attached to each key (its delivery), in the order of `keys`. */
  items: T[];
  /** UTF-8 size of the message `{"s3Bucket":…,"s3ObjectKey":[…]}`. */
  messageBytes: number;
}

export interface SnsBatcherOptions<T> {
  /** A batch is sealed this long after its first key. 0 seals every key on its own. */
  windowMs: number;
  /** The message may not grow beyond this; the key that would pass it starts the next batch. */
  maxMessageBytes: number;
  onSeal: (batch: SnsBatch<T>) => void;
}

interface Open<T> {
  batch: SnsBatch<T>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Collects the keys of each trail for a short window and seals them into one CloudTrail message
 * (CloudTrail lists several keys per notification), never larger than SNS accepts. A batch is
 * sealed when its window ends, when the next key would make it too large, or on sealAll (shutdown).
 */
export class SnsBatcher<T> {
  private readonly open = new Map<string, Open<T>>();

  constructor(private readonly options: SnsBatcherOptions<T>) {}

  add(trailName: string, bucket: string, key: string, item: T): void {
    const id = `${trailName}\n${bucket}`;
    let current = this.open.get(id);
    if (current && current.batch.messageBytes + keyBytes(key, current.batch.keys.length) > this.options.maxMessageBytes) {
      this.seal(id);
      current = undefined;
    }
    if (!current) {
      current = { batch: { trailName, bucket, keys: [], items: [], messageBytes: cloudTrailMessageBytes(bucket, []) }, timer: undefined };
      this.open.set(id, current);
      if (this.options.windowMs > 0) {
        current.timer = setTimeout(() => this.seal(id), this.options.windowMs);
      }
    }
    current.batch.messageBytes += keyBytes(key, current.batch.keys.length);
    current.batch.keys.push(key);
    current.batch.items.push(item);
    if (this.options.windowMs === 0) this.seal(id);
  }

  /** Seals every open batch now. */
  sealAll(): void {
    for (const id of [...this.open.keys()]) this.seal(id);
  }

  /** Removes the items `drop` picks from open batches (a revoked partition's: the next owner announces them). */
  remove(drop: (item: T) => boolean): void {
    for (const [id, { batch, timer }] of this.open) {
      const keep = batch.items.map((item, i) => ({ item, key: batch.keys[i]! })).filter(({ item }) => !drop(item));
      if (keep.length === batch.items.length) continue;
      if (keep.length === 0) {
        clearTimeout(timer);
        this.open.delete(id);
        continue;
      }
      batch.items = keep.map((k) => k.item);
      batch.keys = keep.map((k) => k.key);
      batch.messageBytes = cloudTrailMessageBytes(batch.bucket, batch.keys);
    }
  }

  /** Keys waiting in open batches. */
  get pendingKeys(): number {
    let n = 0;
    for (const { batch } of this.open.values()) n += batch.keys.length;
    return n;
  }

  private seal(id: string): void {
    const current = this.open.get(id);
    if (!current) return;
    clearTimeout(current.timer);
    this.open.delete(id);
    if (current.batch.keys.length > 0) this.options.onSeal(current.batch);
  }
}
