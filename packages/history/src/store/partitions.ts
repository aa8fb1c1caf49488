import type { Pool, PoolClient } from './database.js';

/** The day-partitioned tables: each has a partition `<table>_YYYYMMDD` per UTC day. */
export const PARTITIONED_TABLES = ['events', 'event_resources'] as const;

/** Serialises partition DDL across instances (CREATE … PARTITION OF races on the catalog otherwise). */
const PARTITION_LOCK = 7_301_202_613n;

const DAY = /^(\d{4})(\d{2})(\d{2})$/;

/** `YYYYMMDD` → the day's bounds as ISO dates ([from, to)). */
export function dayBounds(day: string): { from: string; to: string } {
  const m = DAY.exec(day);
  if (!m) throw new Error(`not a day: ${day}`);
  const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (new Date(start).toISOString().slice(0, 10).replaceAll('-', '') !== day) throw new Error(`not a day: ${day}`);
  return { from: new Date(start).toISOString().slice(0, 10), to: new Date(start + 86_400_000).toISOString().slice(0, 10) };
}

/**
 * Creates day partitions on demand and remembers which exist. The names are built from a checked
 * `YYYYMMDD`, never from event text.
 */
export class PartitionManager {
  private readonly known = new Set<string>();

  constructor(
    private readonly pool: Pool,
    private readonly onCreated: (day: string) => void = () => {},
  ) {}

  /** Makes sure the partitions of every day in `days` exist. */
  async ensure(days: Iterable<string>): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.known.has(d));
    if (missing.length === 0) return;
    const created = await this.underLock(async (client) => {
      const made: string[] = [];
      for (const day of missing.sort()) {
        const { from, to } = dayBounds(day);
        const exists = await client.query("SELECT 1 FROM pg_class WHERE relname = $1 AND relkind = 'r'", [`events_${day}`]);
        if (exists.rowCount) continue;
        for (const table of PARTITIONED_TABLES) {
          await client.query(`CREATE TABLE IF NOT EXISTS ${table}_${day} PARTITION OF ${table} FOR VALUES FROM ('${from}') TO ('${to}')`);
        }
        made.push(day);
      }
      return made;
    });
    for (const day of missing) this.known.add(day);
    for (const day of created) this.onCreated(day);
  }

  /**
   * Runs `work` in a transaction that holds the partition lock. A checked-out client's connection
   * error must not be an uncaught event that ends the process (see EventWriter.copy): it is kept,
   * the statement in flight fails on its own, and the client is discarded, not pooled again.
   */
  private async underLock<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK.toString()]);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** Forget what is known (a partition was dropped, or an insert found none). */
  forget(day?: string): void {
    if (day) this.known.delete(day);
    else this.known.clear();
  }

  /** The days that have an events partition, oldest first. */
  async days(): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'events'::regclass`,
    );
    return rows.map((r) => r.name.slice('events_'.length)).filter((d) => DAY.test(d)).sort();
  }

  /** Drops whole days older than `keepFrom` (a `YYYYMMDD`; that day is kept). Returns the days dropped. */
  async dropBefore(keepFrom: string): Promise<string[]> {
    const dropped: string[] = [];
    for (const day of await this.days()) {
      if (day >= keepFrom) break;
      dayBounds(day);
      await this.underLock(async (client) => {
        for (const table of PARTITIONED_TABLES) await client.query(`DROP TABLE IF EXISTS ${table}_${day}`);
      });
      this.known.delete(day);
      dropped.push(day);
    }
    return dropped;
  }
}
