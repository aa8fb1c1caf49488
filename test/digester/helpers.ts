import type { KafkaProducer } from '@opentrail/runtime';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AwsClients } from '@opentrail/aws';
import { logFileKey } from '@opentrail/cloudtrail';
import { inflateDigest, type ParsedDigest } from '@opentrail/integrity';
import { serdeFor, valueSubject, type AvroSerde, type Delivery } from '@opentrail/serde';
import { cacheDir, stackVersions } from '@opentrail/stack';
import type { TrailInput } from '@opentrail/trails';
import { serviceEnv, stackEndpoints, testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { createTopics } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { expect } from 'vitest';

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
/** The access key the API accepts; the CLI and the tests sign with it. */
export const ACCESS_KEY = { id: 'AKIAOPENTRAILTEST01', secret: 'opentrail-test-secret-key' };

export function awsClients(): AwsClients {
  return new AwsClients({ endpoint: stackEndpoints().awsEndpoint, region: REGION });
}

/** A test's own topics, bucket, trail and key directory. */
export class DigestRun {
  readonly prefix = uniquePrefix('dig');
  readonly bucket = `digests-${randomBytes(4).toString('hex')}`;
  readonly trailName = 'main-trail';
  readonly trailArn = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/main-trail`;
  readonly keyDir = mkdtempSync(join(tmpdir(), 'digest-keys-'));
  readonly aws = awsClients();
  readonly deliveriesTopic = `${this.prefix}deliveries`;
  private producer: KafkaProducer | undefined;
  private serde: AvroSerde<Delivery> | undefined;
  private sequence = 0;
  readonly logKeysByRegion = new Map<string, string[]>();
  readonly started = Date.now();

  constructor(readonly periodSeconds: number) {}

  /** Log files delivered for the home region. */
  get logKeys(): string[] {
    return this.logKeysFor(REGION);
  }

  logKeysFor(region: string): string[] {
    let keys = this.logKeysByRegion.get(region);
    if (!keys) this.logKeysByRegion.set(region, (keys = []));
    return keys;
  }

  get s3(): S3Client {
    return this.aws.s3;
  }

  trails(): TrailInput[] {
    return [{ name: this.trailName, accountId: ACCOUNT, homeRegion: REGION, bucket: this.bucket, digests: { enabled: true, periodMinutes: 1 } }];
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return serviceEnv(this.prefix, {
      OPENTRAIL_TRAILS: JSON.stringify(this.trails()),
      // A consumer group (and transactional ids) of the test's own, as every other suite does.
      OPENTRAIL_DIGESTER_GROUP_ID: `${this.prefix}digester`,
      OPENTRAIL_DIGESTER_KEY_DIR: this.keyDir,
      OPENTRAIL_DIGESTER_TEST_PERIOD_SECONDS: String(this.periodSeconds),
      OPENTRAIL_DIGESTER_GRACE_MS: '1500',
      OPENTRAIL_DIGESTER_FLUSH_INTERVAL_MS: '250',
      OPENTRAIL_DIGESTER_SESSION_TIMEOUT_MS: '6000',
      OPENTRAIL_DIGESTER_HEARTBEAT_INTERVAL_MS: '1000',
      OPENTRAIL_API_PORT: '0',
      OPENTRAIL_API_ACCESS_KEYS: `${ACCESS_KEY.id}:${ACCESS_KEY.secret}`,
      ...extra,
    });
  }

  async setUp(): Promise<void> {
    await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
    await createTopics(testKafka(), [this.deliveriesTopic], 3);
    this.serde = serdeFor(testRegistry(), 'Delivery');
    await this.serde.register(valueSubject(this.deliveriesTopic));
    this.producer = testKafka('digest-test').producer({});
    await this.producer.connect();
  }

  /** Services started for this run: their output goes into a timeout's message. */
  readonly services: ServiceProcess[] = [];

  async startDigester(extra: Record<string, string> = {}, without: string[] = []): Promise<ServiceProcess> {
    const env = this.env(extra);
    for (const name of without) delete env[name];
    const service = await startService('digester', env);
    this.services.push(service);
    return service;
  }

  async startApi(extra: Record<string, string> = {}): Promise<{ service: ServiceProcess; url: string }> {
    const service = await startService('api', this.env(extra));
    this.services.push(service);
    const url = await waitFor(() => service.logs().find((l) => typeof l.api === 'string')?.api as string | undefined, 'the API to log its URL');
    return { service, url };
  }

  /**
   * What the archiver does for one log file: the gzip object in S3 at a CloudTrail key, then its
   * delivery record on the deliveries topic.
   */
  async deliverLogFile(region = REGION, alter: (delivery: Delivery) => Delivery = (d) => d): Promise<string> {
    const i = this.sequence++;
    const now = Date.now();
    const records = { Records: [{ eventVersion: '1.10', eventID: `${this.prefix}${i}`, eventTime: new Date(now - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), eventName: 'GetCallerIdentity', awsRegion: region, recipientAccountId: ACCOUNT }] };
    const json = Buffer.from(JSON.stringify(records));
    const unique = createHash('sha256').update(`${this.prefix}${i}`).digest('hex').replace(/[^A-Za-z0-9]/g, '').slice(0, 16);
    const key = logFileKey({ accountId: ACCOUNT, region }, new Date(now), unique);
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: gzipSync(json) }));
    const delivery: Delivery = {
      deliveryId: createHash('sha256').update(key).digest('hex').slice(0, 32),
      kind: 'LOG',
      trailName: this.trailName,
      trailArn: this.trailArn,
      homeRegion: REGION,
      bucket: this.bucket,
      key,
      accountId: ACCOUNT,
      region,
      organizationId: null,
      recordCount: 1,
      uncompressedBytes: json.length,
      compressedBytes: 0,
      sha256: createHash('sha256').update(json).digest('hex'),
      oldestEventTime: now - 1000,
      newestEventTime: now - 1000,
      deliveredAt: now,
      encryption: { mode: 'NONE', kmsKeyId: null },
      source: null,
      digest: null,
    };
    await this.producer!.send({ topic: this.deliveriesTopic, acks: -1, messages: [{ key: `${this.trailName}/${ACCOUNT}/${region}`, value: this.serde!.encode(alter(delivery)) }] });
    this.logKeysFor(region).push(key);
    return key;
  }

  digestPrefix(region = REGION): string {
    return `AWSLogs/${ACCOUNT}/CloudTrail-Digest/${region}/`;
  }

  async digestKeys(region = REGION): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.digestPrefix(region), ...(token ? { ContinuationToken: token } : {}) }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  }

  async object(key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return { body: Buffer.from(await out.Body!.transformToByteArray()), metadata: out.Metadata ?? {} };
  }

  async digest(key: string): Promise<ParsedDigest> {
    return inflateDigest((await this.object(key)).body);
  }

  async put(key: string, body: Buffer, metadata: Record<string, string> = {}): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, Metadata: metadata }));
  }

  /** Waits until every log file delivered so far (in `region`) is listed in a digest. */
  async waitForDigestsCovering(timeoutMs = 90_000, region = REGION): Promise<string[]> {
    return waitFor(
      async () => {
        const keys = await this.digestKeys(region);
        const listed = new Set<string>();
        for (const k of keys) for (const f of (await this.digest(k)).logFiles ?? []) listed.add(f.s3Object);
        return this.logKeysFor(region).every((k) => listed.has(k)) ? keys : undefined;
      },
      `digests listing all ${this.logKeysFor(region).length} log files of ${region}`,
      timeoutMs,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.services.map((s) => `--- ${s.name}:\n${s.output().slice(-3000)}`).join('\n')}`);
    });
  }

  /** Stops every service this run started (also those of a start-up that failed half way), then the clients. */
  async close(): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop()));
    await this.producer?.disconnect();
    this.aws.destroy();
  }
}

/**
 * Checks the stored chain of a region link by link: one starting digest, then each digest naming
 * the previous one's key, SHA-256 and signature, its period starting where the previous ended.
 * Returns the log files listed, in order.
 */
export async function chainProblems(run: DigestRun, region = REGION): Promise<{ problems: string[]; listed: string[] }> {
  const keys = await run.digestKeys(region);
  const problems: string[] = [];
  const listed: string[] = [];
  let previous: { key: string; body: Buffer; metadata: Record<string, string>; digest: ParsedDigest } | undefined;
  for (const key of keys) {
    const { body, metadata } = await run.object(key);
    const digest = inflateDigest(body);
    listed.push(...(digest.logFiles ?? []).map((f) => f.s3Object));
    if (!previous) {
      if (digest.previousDigestSignature !== null) problems.push(`${key}: the first digest is not a starting digest`);
    } else {
      if (digest.previousDigestS3Object !== previous.key) problems.push(`${key}: previous ${String(digest.previousDigestS3Object)}, expected ${previous.key}`);
      if (digest.previousDigestSignature !== previous.metadata.signature) problems.push(`${key}: previousDigestSignature does not link`);
      if (digest.previousDigestHashValue !== createHash('sha256').update(gunzipSync(previous.body)).digest('hex')) problems.push(`${key}: previousDigestHashValue does not link`);
      if (digest.digestStartTime !== previous.digest.digestEndTime) problems.push(`${key}: starts ${digest.digestStartTime}, the previous ended ${previous.digest.digestEndTime}`);
    }
    previous = { key, body, metadata, digest };
  }
  return { problems, listed };
}

/**
 * Asserts that each region's chain is whole and lists every log file delivered for the region
 * exactly once, in any order (several partitions deliver concurrently).
 */
export async function expectWholeChains(run: DigestRun, regions: readonly string[]): Promise<void> {
  for (const region of regions) {
    const { problems, listed } = await chainProblems(run, region);
    expect(problems, region).toEqual([]);
    expect(listed.sort(), region).toEqual([...run.logKeysFor(region)].sort());
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function execute(file: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 1 << 24, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `opentrail validate-logs` as a process, against the API and moto S3. */
export function opentrailValidate(run: DigestRun, apiUrl: string, startMs: number, extra: string[] = []): Promise<CliResult> {
  return execute(process.execPath, ['--import', 'tsx', 'packages/cli/src/bin.ts', 'validate-logs', '--trail-arn', run.trailArn, '--start-time', iso(startMs), '--verbose', '--endpoint-url', apiUrl, ...extra], {
    OPENTRAIL_AWS_ENDPOINT: stackEndpoints().awsEndpoint,
    AWS_ACCESS_KEY_ID: ACCESS_KEY.id,
    AWS_SECRET_ACCESS_KEY: ACCESS_KEY.secret,
  });
}

/** The AWS CLI installed by the stack (awscli from PyPI). */
export function awsCliPath(): string {
  const v = stackVersions();
  const path = join(cacheDir(), `venv-moto-${v.moto}-awscli-${v.awscli}`, 'bin', 'aws');
  if (!existsSync(path)) throw new Error(`the AWS CLI is not installed at ${path} (npm run stack:install)`);
  return path;
}

/**
 * The real `aws cloudtrail validate-logs`: CloudTrail calls go to opentrail's API (--endpoint-url),
 * S3 calls to moto through AWS_ENDPOINT_URL_S3 (the CLI does not apply --endpoint-url to S3).
 */
export function awsValidate(run: DigestRun, apiUrl: string, startMs: number, extra: string[] = []): Promise<CliResult> {
  return execute(awsCliPath(), ['cloudtrail', 'validate-logs', '--trail-arn', run.trailArn, '--start-time', iso(startMs), '--verbose', '--endpoint-url', apiUrl, '--region', REGION, ...extra], {
    AWS_ENDPOINT_URL_S3: stackEndpoints().awsEndpoint,
    AWS_ACCESS_KEY_ID: ACCESS_KEY.id,
    AWS_SECRET_ACCESS_KEY: ACCESS_KEY.secret,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  });
}

/** Lines of one kind: `Digest file\ts3://…\t<outcome>`. */
export function outcomeLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('Digest file\t') || l.startsWith('Log file\t') || l.startsWith('No log files were delivered'));
}
