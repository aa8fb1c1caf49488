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
  private readonly created = new Set<string>();
  private schemaReady = false;

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
    if (!this.schemaReady) {
      await engine.execute(`CREATE SCHEMA IF NOT EXISTS ${catalog}.${schema} WITH (location = 's3://${this.o.bucket}/${this.o.prefix}/')`, { user: 'lake-admin', signal });
      this.schemaReady = true;
    }
    for (const id of storeIds) {
      const table = this.tableOf(id);
      if (!this.created.has(id)) {
        const ddl = trinoTableDdl({ catalog, schema, table, location: `s3://${this.o.bucket}/${this.o.prefix}/${id}` }).replace(/^CREATE TABLE /, 'CREATE TABLE IF NOT EXISTS ');
        await engine.execute(ddl, { user: 'lake-admin', signal });
        this.created.add(id);
      }
      await engine.execute(`CALL ${catalog}.system.sync_partition_metadata(schema_name => '${schema}', table_name => '${table}', mode => 'FULL')`, { user: 'lake-admin', signal });
    }
  }
}
