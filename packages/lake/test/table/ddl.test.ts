import { describe, expect, it } from 'vitest';
import { LAKE_PARTITION_COLUMN, lakeSchema, LakeTableError, trinoTableDdl, trinoType } from '../../src/index.js';

const place = { catalog: 'lake', schema: 'opentrail', table: 'eds_0f1c2d3e', location: 's3://opentrail-lake/lake/0f1c2d3e' };

/** The column lines of the statement: `"name" TYPE`, between the opening and closing parentheses. */
function columnsOf(ddl: string): [string, string][] {
  const lines = ddl.split('\n');
  const body = lines.slice(1, lines.indexOf(')'));
  return body.map((line) => {
    const m = /^ {2}"([a-z0-9_]+)" (.+?),?$/.exec(line);
    if (m === null) throw new Error(`not a column line: ${line}`);
    return [m[1]!, m[2]!];
  });
}

describe('trinoTableDdl', () => {
  it("lists lakeSchema's columns with their Trino types, then the partition column", () => {
    const ddl = trinoTableDdl(place);
    expect(columnsOf(ddl)).toEqual([...lakeSchema, LAKE_PARTITION_COLUMN].map((f) => [f.name, trinoType(f.type)]));
    expect(ddl.startsWith('CREATE TABLE "lake"."opentrail"."eds_0f1c2d3e" (\n')).toBe(true);
    expect(ddl.endsWith(["WITH (", "  external_location = 's3://opentrail-lake/lake/0f1c2d3e',", "  format = 'PARQUET',", "  partitioned_by = ARRAY['eventdate']", ')'].join('\n'))).toBe(true);
  });

  it('spells the nested types as Trino does, field names quoted', () => {
    const columns = new Map(columnsOf(trinoTableDdl(place)));
    expect(columns.get('eventtime')).toBe('TIMESTAMP(3)');
    expect(columns.get('readonly')).toBe('BOOLEAN');
    expect(columns.get('requestparameters')).toBe('MAP(VARCHAR, VARCHAR)');
    expect(columns.get('resources')).toBe('ARRAY(ROW("accountid" VARCHAR, "type" VARCHAR, "arn" VARCHAR, "arnprefix" VARCHAR))');
    expect(columns.get('tlsdetails')).toBe('ROW("tlsversion" VARCHAR, "ciphersuite" VARCHAR, "clientprovidedhostheader" VARCHAR)');
    expect(columns.get('useridentity')).toContain(
      '"sessioncontext" ROW("attributes" ROW("creationdate" TIMESTAMP(3), "mfaauthenticated" VARCHAR), "sessionissuer" ROW("type" VARCHAR, "principalid" VARCHAR, "arn" VARCHAR, "accountid" VARCHAR, "username" VARCHAR), "webidfederationdata" ROW("federatedprovider" VARCHAR, "attributes" MAP(VARCHAR, VARCHAR))',
    );
  });

  it('refuses names outside [a-z0-9_] and locations that are not plain URIs, with typed errors', () => {
    const cases: [Partial<typeof place>, string][] = [
      [{ table: 'Events' }, 'INVALID_IDENTIFIER'],
      [{ schema: 'a"b' }, 'INVALID_IDENTIFIER'],
      [{ catalog: '' }, 'INVALID_IDENTIFIER'],
      [{ table: 'x'.repeat(129) }, 'INVALID_IDENTIFIER'],
      [{ table: 'eds-1' }, 'INVALID_IDENTIFIER'],
      [{ location: "s3://bucket/x', format = 'ORC" }, 'INVALID_LOCATION'],
      [{ location: '/local/path' }, 'INVALID_LOCATION'],
      [{ location: 's3://bucket/a b' }, 'INVALID_LOCATION'],
    ];
    for (const [change, code] of cases) {
      let error: unknown;
      try {
        trinoTableDdl({ ...place, ...change });
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(change)).toBeInstanceOf(LakeTableError);
      expect((error as LakeTableError).code).toBe(code);
    }
  });
});
