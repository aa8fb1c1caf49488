import type { KafkaClient, KafkaProducer } from '@opentrail/runtime';
import { DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { currentKey, kmsKey, loadLocalKeys, withValidityWindows, type SigningKey } from '@opentrail/integrity';
import type { Logger } from '@opentrail/observability';
import type { AvroSerde, DigestPublicKey } from '@opentrail/serde';
import type { DigesterConfig } from './config.js';

/**
 * The signing keys, and their publication: every key (its PKCS#1 DER public key and validity
 * window) goes to the compacted keys topic, keyed by fingerprint, before any digest is signed with
 * it, and again when a newer key closes its window. The API serves ListPublicKeys from that topic,
 * so a validator can fetch every key that ever signed a digest in its range.
 */
export class KeyRing {
  private keys: SigningKey[] = [];
  private readonly published = new Map<string, string>();
  private producer: KafkaProducer | undefined;
  private rescan: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      signing: DigesterConfig['signing'];
      kms: KMSClient;
      kafka: KafkaClient;
      topic: string;
      serde: AvroSerde<DigestPublicKey>;
      logger: Logger;
    },
  ) {}

  async start(): Promise<void> {
    this.producer = this.options.kafka.producer({ idempotent: true, maxInFlightRequests: 1});
    await this.producer.connect();
    await this.load();
    const signing = this.options.signing;
    if (signing.type === 'local') {
      this.rescan = setInterval(() => {
        this.load().catch((err: unknown) => this.options.logger.error({ err }, 'reading the key directory failed; the keys already loaded keep signing'));
      }, signing.rescanIntervalMs);
      this.rescan.unref();
    }
  }

  /** (Re)reads the keys and publishes what is new or changed. */
  async load(): Promise<void> {
    const { signing, logger } = this.options;
    let keys: SigningKey[];
    if (signing.type === 'local') {
      const loaded = loadLocalKeys(signing.keyDir, { generate: signing.generate });
      if (loaded.generated) logger.info({ file: loaded.generated, fingerprint: loaded.keys[0]?.fingerprint }, 'generated a digest signing key');
      keys = loaded.keys;
    } else {
      keys = [];
      for (const k of signing.keys) {
        let start = k.validFrom ? Date.parse(k.validFrom) : undefined;
        if (start === undefined) {
          const described = await this.options.kms.send(new DescribeKeyCommand({ KeyId: k.keyId }));
          start = described.KeyMetadata?.CreationDate?.getTime() ?? 0;
        }
        keys.push(await kmsKey(this.options.kms, k.keyId, start));
      }
      keys = withValidityWindows(keys);
    }
    await this.publish(keys);
    this.keys = keys;
  }

  private async publish(keys: SigningKey[]): Promise<void> {
    const { serde, topic, logger } = this.options;
    const changed = keys.filter((k) => this.published.get(k.fingerprint) !== `${k.validityStart}/${k.validityEnd}`);
    if (changed.length === 0) return;
    const now = Date.now();
    await this.producer!.send({
      topic,
      acks: -1,
      messages: changed.map((k) => ({
        key: k.fingerprint,
        value: serde.encode({ fingerprint: k.fingerprint, publicKeyDer: k.publicKeyDer, validityStart: k.validityStart, validityEnd: k.validityEnd, source: k.source, publishedAt: now }),
      })),
    });
    for (const k of changed) this.published.set(k.fingerprint, `${k.validityStart}/${k.validityEnd}`);
    logger.info({ keys: changed.map((k) => ({ fingerprint: k.fingerprint, validityStart: new Date(k.validityStart).toISOString(), validityEnd: k.validityEnd === null ? null : new Date(k.validityEnd).toISOString() })) }, 'public keys published');
  }

  /** The key that signs at `now` (the oldest when none has started yet: a clock behind the key's stamp). */
  current(now = Date.now()): SigningKey {
    const key = currentKey(this.keys, now) ?? this.keys[0];
    if (!key) throw new Error('no signing key loaded');
    return key;
  }

  async stop(): Promise<void> {
    if (this.rescan) clearInterval(this.rescan);
    await this.producer?.disconnect().catch(() => undefined);
  }
}
