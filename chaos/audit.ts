/**
 * The count at the end of a run: every eventID of the ledger looked up in the trails' log files
 * (decrypted and gunzipped as `opentrail decrypt` does), in event history (PostgreSQL) and, per
 * log file, in the deliveries topic; and the real AWS CLI's `validate-logs` on every digest chain.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { decryptLogFile } from '@opentrail/logfiles';
import type { AwsClients } from '@opentrail/aws';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import type { KafkaClient } from '@opentrail/runtime';
import { createSchemaRegistry, serdeFor } from '@opentrail/serde';
import { awsCliPath } from '../test/digester/helpers.js';
import { canonicalJson } from '../test/helpers/canonical.js';
import type { Ledger } from './traffic.js';

const run = promisify(execFile);

/** How each eventID fared in one place: missing, there more than once, or there but different. */
export interface Tally {
  expected: number;
  lost: string[];
  duplicated: string[];
  changed: string[];
}

function tally(ledger: Ledger, expectedIn: (trails: string[]) => boolean, copies: Map<string, string[]>): Tally {
  const result: Tally = { expected: 0, lost: [], duplicated: [], changed: [] };
  for (const [eventID, entry] of ledger.produced) {
    if (!expectedIn(entry.trails)) continue;
    result.expected++;
    const found = copies.get(eventID);
    if (!found) result.lost.push(eventID);
    else {
      if (found.length > 1) result.duplicated.push(eventID);
      if (found.some((copy) => copy !== entry.canonical)) result.changed.push(eventID);
    }
  }
  return result;
}

export interface LogFileAudit {
  /** By trail name. */
  trails: Map<string, Tally>;
  logFiles: number;
  /** S3 keys of the log files, for the deliveries check. */
  keys: string[];
}

/**
 * Reads every log file of the bucket. A file belongs to the trail whose prefix it is under
 * (`prefixes`: trail name → S3 key prefix, '' for none).
 */
export async function auditLogFiles(aws: AwsClients, bucket: string, prefixes: Map<string, string>, ledger: Ledger): Promise<LogFileAudit> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key && /\/CloudTrail\//.test(o.Key)) keys.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  // The longest prefix first: a trail without a prefix owns what no other trail's prefix claims.
  const ordered = [...prefixes].sort((a, b) => b[1].length - a[1].length);
  const copies = new Map([...prefixes.keys()].map((trail) => [trail, new Map<string, string[]>()]));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const trail = ordered.find(([, prefix]) => key.startsWith(prefix === '' ? 'AWSLogs/' : `${prefix}/AWSLogs/`))?.[0];
        if (trail === undefined) continue;
        const file = await decryptLogFile(aws, { bucket, key });
        const byId = copies.get(trail)!;
        for (const record of (JSON.parse(file.json) as { Records: CloudTrailRecord[] }).Records) {
          const id = String(Object.getOwnPropertyDescriptor(record, 'eventID')?.value);
          byId.set(id, [...(byId.get(id) ?? []), canonicalJson(record)]);
        }
      }
    }),
  );
  const trails = new Map([...copies].map(([trail, byId]) => [trail, tally(ledger, (t) => t.includes(trail), byId)]));
  return { trails, logFiles: keys.length, keys };
}

/** Event history: every produced event is a row of `events`, once, with the record as produced. */
export async function auditHistory(databaseUrl: string, ledger: Ledger): Promise<Tally> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const copies = new Map<string, string[]>();
    const rows = await client.query<{ event_id: string; record: string }>('SELECT event_id, record FROM events');
    for (const row of rows.rows) copies.set(row.event_id, [...(copies.get(row.event_id) ?? []), canonicalJson(JSON.parse(row.record))]);
    return tally(ledger, () => true, copies);
  } finally {
    await client.end();
  }
}

export interface DeliveryAudit {
  deliveries: number;
  /** Log files announced more than once on the deliveries topic. */
  duplicated: string[];
  /** Log files in S3 never announced. */
  missing: string[];
}

/** The deliveries topic (committed records only): each log file delivered exactly once. */
export async function auditDeliveries(kafka: KafkaClient, registryUrl: string, topic: string, logFileKeys: string[]): Promise<DeliveryAudit> {
  const serde = serdeFor(createSchemaRegistry({ url: registryUrl }), 'Delivery');
  const consumer = kafka.consumer({ groupId: `chaos-audit-${Date.now()}`, maxWaitTimeInMs: 200 });
  const values: Buffer[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) values.push(message.value);
      last = Date.now();
    },
  });
  // Read until the topic has been quiet for 5 s (nothing more is produced once the run drained).
  while (Date.now() - last < 5000 || values.length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (Date.now() - last > 60_000) break;
  }
  await consumer.disconnect();
  await serde.prepare(values);
  const seen = new Map<string, number>();
  for (const value of values) {
    const delivery = serde.decode(value);
    if (delivery.kind !== 'LOG') continue;
    seen.set(delivery.key, (seen.get(delivery.key) ?? 0) + 1);
  }
  return {
    deliveries: values.length,
    duplicated: [...seen].filter(([, n]) => n > 1).map(([key]) => key),
    missing: logFileKeys.filter((key) => !seen.has(key) && !key.includes('CloudTrail-Digest')),
  };
}

/** A digest chain: one trail's digests for one account and region. */
export interface Chain {
  trailArn: string;
  accountId: string;
  region: string;
}

export interface ChainResult extends Chain {
  clean: boolean;
  summary: string;
  /** Files the CLI found valid: its `N/M digest files valid` and `N/M log files valid` lines. */
  validDigests: number;
  validLogFiles: number;
}

/** The count N of the CLI's `N/M <kind> files valid` line (0 if none). */
function validCount(output: string, kind: 'digest' | 'log'): number {
  const match = new RegExp(`^(\\d+)/\\d+ ${kind} files? valid`, 'm').exec(output);
  return match ? Number(match[1]) : 0;
}

/** The chains present in the bucket, from the digest files' keys (AWSLogs/<account>/CloudTrail-Digest/<region>/…). */
export async function digestChains(aws: AwsClients, bucket: string, trails: { arn: string; prefix: string }[]): Promise<Chain[]> {
  const chains = new Map<string, Chain>();
  for (const trail of trails) {
    let token: string | undefined;
    const prefix = trail.prefix === '' ? 'AWSLogs/' : `${trail.prefix}/AWSLogs/`;
    do {
      const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const match = /AWSLogs\/(\d{12})\/CloudTrail-Digest\/([a-z0-9-]+)\//.exec(o.Key ?? '');
        if (match) chains.set(`${trail.arn} ${match[1]} ${match[2]}`, { trailArn: trail.arn, accountId: match[1]!, region: match[2]! });
      }
      token = page.NextContinuationToken;
    } while (token);
  }
  return [...chains.values()];
}

/**
 * The real `aws cloudtrail validate-logs` on one chain: CloudTrail calls to opentrail's API, S3
 * reads to moto (AWS_ENDPOINT_URL_S3: the CLI does not apply --endpoint-url to S3). Clean means
 * exit 0 and no line that says INVALID.
 */
export async function validateChain(chain: Chain, options: { apiUrl: string; s3Endpoint: string; startTime: Date }): Promise<ChainResult> {
  const args = ['cloudtrail', 'validate-logs', '--trail-arn', chain.trailArn, '--account-id', chain.accountId, '--start-time', options.startTime.toISOString().replace(/\.\d{3}Z$/, 'Z'), '--endpoint-url', options.apiUrl, '--region', chain.region, '--verbose'];
  const env = { ...process.env, AWS_ENDPOINT_URL_S3: options.s3Endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: chain.region, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
  let code = 0;
  let out = '';
  try {
    const { stdout, stderr } = await run(awsCliPath(), args, { env, maxBuffer: 1 << 26, timeout: 300_000 });
    out = `${stdout}\n${stderr}`;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    code = typeof e.code === 'number' ? e.code : -1;
    out = `${e.stdout ?? ''}\n${e.stderr ?? e.message}`;
  }
  const invalid = out.split('\n').filter((line) => /INVALID|not found|missing/i.test(line) && !/^Log file\t.*\tvalid$/.test(line));
  const results = out.split('\n').filter((line) => /^\d+\/\d+ (digest|log) files? valid/.test(line.trim()) || /^Results requested/.test(line));
  return { ...chain, validDigests: validCount(out, 'digest'), validLogFiles: validCount(out, 'log'), clean: code === 0 && invalid.length === 0, summary: code === 0 && invalid.length === 0 ? results.map((l) => l.trim()).join('; ') : `exit ${code}: ${(invalid.length ? invalid : out.split('\n').slice(-5)).slice(0, 5).join(' | ')}` };
}
