import { trinoTableDdl } from '../table/ddl.js';
import type { QueryEngine } from './engine.js';

/**
 * Each event data store is one Hive table over its folder of the lake bucket
 * (`s3://<bucket>/<prefix>/<storeId>/eventdate=…/`, written by the lake service). The table is
 * made the first time a store is queried, and its day partitions are brought in line with S3
 * before each query (new days added, days retention deleted dropped), so the lake service needs
 * no connection to the engine.
 */
export interface LakeTablesOptions {
  engine: QueryEngine;
  catalog: string;
  schema: string;
  bucket: string;
  prefix: string;
}

export class LakeTables {
  /** The schema's and each table's creation, once per process: concurrent first queries share it. */
  private schema: Promise<void> | undefined;
  private readonly created = new Map<string, Promise<void>>();
  /** Each table's partition sync, one at a time (two syncs of one table would add the same day twice). */
  private readonly syncs = new Map<string, Promise<void>>();

  constructor(private readonly o: LakeTablesOptions) {}

  /** The table of a store: `eds_` and the ID with underscores (Hive names are [a-z0-9_]). */
  tableOf(storeId: string): string {
    return `eds_${storeId.replace(/-/g, '_')}`;
  }

  /** The fully qualified name the guard puts in place of the store's ID. */
  qualifiedName(storeId: string): string {
    return `${this.o.catalog}.${this.o.schema}.${this.tableOf(storeId)}`;
  }

  /** Makes the stores' tables if needed and registers their days as they are in S3. */
  async prepare(storeIds: readonly string[], signal?: AbortSignal): Promise<void> {
    const { engine, catalog, schema } = this.o;
    await this.once(() => this.schema, (p) => (this.schema = p), () => engine.execute(`CREATE SCHEMA IF NOT EXISTS ${catalog}.${schema} WITH (location = 's3://${this.o.bucket}/${this.o.prefix}/')`, { user: 'lake-admin' }));
    for (const id of storeIds) {
      const table = this.tableOf(id);
      await this.once(
        () => this.created.get(id),
        (p) => void (p ? this.created.set(id, p) : this.created.delete(id)),
        () => {
          const ddl = trinoTableDdl({ catalog, schema, table, location: `s3://${this.o.bucket}/${this.o.prefix}/${id}` }).replace(/^CREATE TABLE /, 'CREATE TABLE IF NOT EXISTS ');
          return engine.execute(ddl, { user: 'lake-admin' });
        },
      );
      const previous = this.syncs.get(id) ?? Promise.resolve();
      const sync = previous.catch(() => undefined).then(() => engine.execute(`CALL ${catalog}.system.sync_partition_metadata(schema_name => '${schema}', table_name => '${table}', mode => 'FULL')`, { user: 'lake-admin', signal }).then(() => undefined));
      this.syncs.set(id, sync);
      await sync;
    }
  }

  /** Runs `make` once; a failure is forgotten, so the next query tries again. */
  private async once(get: () => Promise<void> | undefined, set: (p: Promise<void> | undefined) => void, make: () => Promise<unknown>): Promise<void> {
    let pending = get();
    if (!pending) {
      pending = make().then(() => undefined);
      set(pending);
      pending.catch(() => set(undefined));
    }
    await pending;
  }
}
