import { from as copyFrom } from 'pg-copy-streams';
import { BinaryCopyWriter } from './copyBinary.js';
import type { Pool, PoolClient } from './database.js';
import { isDatabaseUnavailable } from './database.js';
import type { EventRow } from './eventRow.js';
import type { PartitionManager } from './partitions.js';

const COPY_EVENTS =
  'COPY events (event_time, event_id, account_id, region, event_name, event_source, read_only, username, access_key_id, source_ip, error_code, event_category, resources, record) FROM STDIN (FORMAT binary)';
const EVENT_FIELDS = 14;
const COPY_RESOURCES = 'COPY event_resources (event_time, event_id, region, resource_type, resource_name) FROM STDIN (FORMAT binary)';
const RESOURCE_FIELDS = 5;

/**
 * The idempotent statement, for batches the optimistic COPY could not take (some events already
 * stored: a replay; or a row the database refuses). One statement per batch: the events rows from arrays (unnest: any number of rows, 19 parameters),
 * ON CONFLICT DO NOTHING for idempotence, and the resource rows of exactly the events that were
 * inserted (a replayed event already has its resource rows).
 */
const INSERT = `
WITH ins AS (
  INSERT INTO events (event_time, event_id, account_id, region, event_name, event_source, read_only, username,
                      access_key_id, source_ip, error_code, event_category, resources, record)
  SELECT t.event_time, t.event_id, t.account_id, t.region, t.event_name, t.event_source, t.read_only, t.username,
         t.access_key_id, t.source_ip, t.error_code, t.event_category, t.resources::jsonb, t.record
    FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::text[],
                $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
      AS t(event_time, event_id, account_id, region, event_name, event_source, read_only, username,
           access_key_id, source_ip, error_code, event_category, resources, record)
  ON CONFLICT DO NOTHING
  RETURNING event_id, event_time
), res AS (
  INSERT INTO event_resources (event_time, event_id, region, resource_type, resource_name)
  SELECT r.event_time, r.event_id, r.region, r.resource_type, r.resource_name
    FROM unnest($15::timestamptz[], $16::text[], $17::text[], $18::text[], $19::text[])
      AS r(event_time, event_id, region, resource_type, resource_name)
    JOIN ins ON ins.event_id = r.event_id AND ins.event_time = r.event_time
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM res)::int AS resources`;

export interface WriteResult {
  /** Events rows inserted. */
  inserted: number;
  /** Events already stored (a replay), skipped. */
  duplicates: number;
  /** Resource rows inserted. */
  resources: number;
  /** Rows the database refused (not a connection problem), with its reason; the rest were written. */
  refused: { row: EventRow; reason: string }[];
}

/** A statement the database refused for its content (as opposed to being unreachable). */
function refusalReason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return `${e.code ? `SQLSTATE ${e.code}: ` : ''}${e.message ?? String(err)}`;
}

/** PostgreSQL's "no partition of relation … found for row". */
function isMissingPartition(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23514' && /no partition/i.test(e.message ?? '');
}

/** PostgreSQL's unique_violation: the optimistic COPY met an event that is already stored. */
const UNIQUE_VIOLATION = '23505';

export interface EventWriterOptions {
  /**
   * Try each batch first as a plain binary COPY into events and event_resources (no conflict
   * check), falling back to the idempotent INSERT only when the COPY meets an event already
   * stored. false: always the idempotent INSERT (the benchmark's comparison). @default true
   */
  optimisticCopy?: boolean;
}

/**
 * Why optimistic COPY (bench/history-writer.bench.ts, bench/history-ingest.bench.ts): almost every
 * batch holds only new events (a replay happens after a crash or a rebalance, for the batches whose
 * offsets were not committed), and for those a binary COPY is the cheapest write PostgreSQL has:
 * no array literals to build here or parse there, no ON CONFLICT arbiter probe, no RETURNING/join
 * for the resource rows. The primary key still guards idempotence: a batch holding a stored event
 * fails as a whole with unique_violation, is rolled back, and is written again by the INSERT ...
 * ON CONFLICT DO NOTHING statement, which skips what is there. A staging table (COPY into a
 * temporary table, then INSERT ... SELECT ... ON CONFLICT) was measured as the fallback too and
 * writes every row twice; the fallback is rare, so the simpler unnest statement stays.
 */
export class EventWriter {
  private readonly optimisticCopy: boolean;

  constructor(
    private readonly pool: Pool,
    private readonly partitions: PartitionManager,
    options: EventWriterOptions = {},
  ) {
    this.optimisticCopy = options.optimisticCopy ?? true;
  }

  /**
   * Writes the rows durably (one transaction, committed with the server's synchronous_commit) and
   * returns when they are. A connection failure is thrown (the caller retries the same rows: the
   * write is idempotent). If the database refuses the batch for its content, the rows are written
   * one by one so that only the refused ones are set aside.
   */
  async write(rows: EventRow[]): Promise<WriteResult> {
    const unique = dedupe(rows);
    const result: WriteResult = { inserted: 0, duplicates: rows.length - unique.length, resources: 0, refused: [] };
    if (unique.length === 0) return result;
    await this.partitions.ensure(unique.map((r) => r.day));
    // A replay (unique_violation) goes on to the idempotent statement for the whole batch; a
    // refusal of content straight to the row-by-row writes that isolate it.
    let batchInsert = true;
    if (this.optimisticCopy) {
      try {
        this.add(result, unique.length, await this.copy(unique));
        return result;
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw err;
        if (isMissingPartition(err)) {
          this.partitions.forget();
          await this.partitions.ensure(unique.map((r) => r.day));
        } else if ((err as { code?: string }).code !== UNIQUE_VIOLATION) batchInsert = false;
      }
    }
    if (batchInsert) {
      try {
        this.add(result, unique.length, await this.insert(unique));
        return result;
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw err;
        if (isMissingPartition(err)) this.partitions.forget();
      }
    }
    await this.partitions.ensure(unique.map((r) => r.day));
    for (const row of unique) {
      try {
        this.add(result, 1, await this.insert([row]));
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw err;
        if (isMissingPartition(err)) this.partitions.forget(row.day);
        result.refused.push({ row, reason: refusalReason(err) });
      }
    }
    return result;
  }

  private add(result: WriteResult, attempted: number, counts: { inserted: number; resources: number }) {
    result.inserted += counts.inserted;
    result.duplicates += attempted - counts.inserted;
    result.resources += counts.resources;
  }

  /** Every row new: both tables by binary COPY in one transaction. Throws unique_violation when one is not. */
  private async copy(rows: EventRow[]): Promise<{ inserted: number; resources: number }> {
    // Sized for the batch up front (the record is most of a row; ASCII in practice): growing a
    // megabyte buffer by doubling copied it and left the old ones to the collector.
    let recordChars = 0;
    for (const r of rows) recordChars += r.record.length;
    const events = new BinaryCopyWriter(recordChars + rows.length * 512);
    const resources = new BinaryCopyWriter(64 * 1024);
    let resourceRows = 0;
    for (const r of rows) {
      const ms = r.timeMs;
      events
        .row(EVENT_FIELDS)
        .timestamptz(ms)
        .text(r.eventId)
        .text(r.accountId)
        .text(r.region)
        .text(r.eventName)
        .text(r.eventSource)
        .boolean(r.readOnly)
        .text(r.username)
        .text(r.accessKeyId)
        .text(r.sourceIp)
        .text(r.errorCode)
        .text(r.eventCategory)
        .jsonb(JSON.stringify(r.resources))
        .text(r.record);
      for (const k of r.resourceKeys) {
        resources.row(RESOURCE_FIELDS).timestamptz(ms).text(r.eventId).text(r.region).text(k.type).text(k.name);
        resourceRows++;
      }
    }
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client has no error listener (the pool removes its own): a connection that
    // dies between two statements (PostgreSQL shutting down while this transaction waits) would
    // otherwise be an uncaught 'error' event, and crash the service instead of a retried write.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      try {
        await copyIn(client, COPY_EVENTS, events.finish());
        if (resourceRows > 0) await copyIn(client, COPY_RESOURCES, resources.finish());
        await client.query('COMMIT');
      } catch (err) {
        if (isDatabaseUnavailable(err)) broken = err as Error;
        else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      }
      return { inserted: rows.length, resources: resourceRows };
    } finally {
      client.off('error', onError);
      // A connection that failed mid-COPY is not given back to the pool.
      client.release(broken);
    }
  }

  private async insert(rows: EventRow[]): Promise<{ inserted: number; resources: number }> {
    const resourceRows = rows.flatMap((r) => r.resourceKeys.map((k) => [r.eventTime, r.eventId, r.region, k.type, k.name] as const));
    const column = <T>(pick: (r: EventRow) => T) => rows.map(pick);
    const { rows: [counts] } = await this.pool.query<{ inserted: number; resources: number }>(INSERT, [
      column((r) => r.eventTime),
      column((r) => r.eventId),
      column((r) => r.accountId),
      column((r) => r.region),
      column((r) => r.eventName),
      column((r) => r.eventSource),
      column((r) => r.readOnly),
      column((r) => r.username),
      column((r) => r.accessKeyId),
      column((r) => r.sourceIp),
      column((r) => r.errorCode),
      column((r) => r.eventCategory),
      column((r) => JSON.stringify(r.resources)),
      column((r) => r.record),
      resourceRows.map((r) => r[0]),
      resourceRows.map((r) => r[1]),
      resourceRows.map((r) => r[2]),
      resourceRows.map((r) => r[3]),
      resourceRows.map((r) => r[4]),
    ]);
    return counts ?? { inserted: 0, resources: 0 };
  }
}

/** The same event twice in one batch (a producer retry) is one row. */
function dedupe(rows: EventRow[]): EventRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const id = `${r.eventId}\u0001${r.eventTime}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Sends one COPY ... FROM STDIN and resolves when the server has taken it (or rejects with its error). */
function copyIn(client: PoolClient, statement: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(statement));
    stream.on('error', reject);
    stream.on('finish', () => resolve());
    stream.end(data);
  });
}
