import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLakeQuery, LakeQueryError, parseLakeSql, type SqlNode } from '../../src/index.js';
import { cloudTrailSampleQueries, sampleStatement } from './sampleQueries.js';
import { check, EDS, OTHER_EDS, resolveStore, tokensOf } from './stores.js';

/** The day bounds the guard adds to a WHERE over one store: `AND eventdate >= '…'` and `<=`. */
function isDayBound(n: SqlNode): boolean {
  return (n.kind === '>=' || n.kind === '<=') && n.children[0]?.kind === 'identifier' && n.children[0].value === 'eventdate' && n.children[1]?.kind === 'string';
}

/**
 * A tree's shape with what the guard rewrites erased: table names, TIMESTAMP before a string
 * compared with eventTime, and the day bounds it adds to a WHERE. Nothing else may differ.
 */
function shape(root: SqlNode): unknown {
  if (root.kind === 'table') return 'table';
  if (root.kind === 'where') {
    let expression = root.children[0]!;
    while (expression.kind === 'and' && isDayBound(expression.children[1]!)) expression = expression.children[0]!;
    return ['where', null, [shape(expression)]];
  }
  // The guard types a string compared with eventTime as TIMESTAMP (parser.ts timeLiterals).
  if (root.kind === 'typedLiteral' && root.value === 'timestamp') return shape(root.children[0]!);
  return [root.kind, root.value ?? null, root.children.map(shape)];
}

// ---- a small generator of valid Lake queries ----

const column = fc.constantFrom('eventName', 'eventTime', 'awsRegion', 'userIdentity.arn', 'userIdentity.sessionContext.sessionIssuer.userName', 'errorCode', '"eventSource"', 'readOnly');
const literal = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => `'${s.replaceAll("'", "''")}'`),
  fc.integer({ min: 0, max: 1_000_000 }).map(String),
  fc.constantFrom('true', 'false', 'NULL', "DATE '2024-01-01'", "TIMESTAMP '2024-01-01 00:00:00'", "interval '7' day", '1.5', '2e3'),
);

const { expression } = fc.letrec<{ expression: string; value: string; predicate: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    column,
    literal,
    fc.tuple(tie('value'), fc.constantFrom('+', '-', '*', '/', '%', '||'), tie('value')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    tie('value').map((v) => `-(${v})`),
    fc.tuple(fc.constantFrom('lower', 'upper', 'length', 'coalesce', 'element_at'), fc.array(tie('value'), { minLength: 1, maxLength: 3 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    fc.tuple(tie('predicate'), tie('value'), tie('value')).map(([p, a, b]) => `CASE WHEN ${p} THEN ${a} ELSE ${b} END`),
    tie('value').map((v) => `CAST(${v} AS varchar)`),
    tie('value').map((v) => `element_at(requestParameters, ${v})`),
    fc.array(tie('value'), { minLength: 1, maxLength: 3 }).map((items) => `ARRAY[${items.join(', ')}]`),
  ),
  predicate: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(tie('value'), fc.constantFrom('=', '<>', '!=', '<', '<=', '>', '>='), tie('value')).map(([a, op, b]) => `${a} ${op} ${b}`),
    fc.tuple(tie('value'), fc.boolean()).map(([v, not]) => `${v} IS ${not ? 'NOT ' : ''}NULL`),
    fc.tuple(tie('value'), fc.array(literal, { minLength: 1, maxLength: 4 })).map(([v, list]) => `${v} IN (${list.join(', ')})`),
    fc.tuple(tie('value'), tie('value'), tie('value')).map(([v, lo, hi]) => `${v} BETWEEN ${lo} AND ${hi}`),
    fc.tuple(tie('value'), fc.string({ maxLength: 6 })).map(([v, p]) => `${v} LIKE '%${p.replaceAll("'", "''")}%'`),
    fc.tuple(tie('predicate'), fc.constantFrom('AND', 'OR'), tie('predicate')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    tie('predicate').map((p) => `NOT (${p})`),
    fc.constant(`eventID IN (SELECT eventID FROM ${OTHER_EDS} WHERE readOnly)`),
  ),
  expression: tie('predicate'),
}));

const query = fc
  .record({
    distinct: fc.boolean(),
    items: fc.array(fc.oneof(column, column.map((c) => `${c} AS c_x`), fc.constant('count(*) AS n')), { minLength: 1, maxLength: 4 }),
    quotedStore: fc.boolean(),
    where: fc.option(expression, { nil: undefined }),
    groupBy: fc.option(fc.array(column, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    orderBy: fc.option(fc.array(fc.tuple(column, fc.constantFrom('', ' ASC', ' DESC', ' DESC NULLS LAST')), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    limit: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
    semicolon: fc.boolean(),
  })
  .map((q) =>
    [
      `SELECT ${q.distinct ? 'DISTINCT ' : ''}${q.items.join(', ')}`,
      `FROM ${q.quotedStore ? `"${EDS}"` : EDS}`,
      q.where === undefined ? '' : `WHERE ${q.where}`,
      q.groupBy === undefined ? '' : `GROUP BY ${q.groupBy.join(', ')}`,
      q.orderBy === undefined ? '' : `ORDER BY ${q.orderBy.map(([c, o]) => c + o).join(', ')}`,
      q.limit === undefined ? '' : `LIMIT ${q.limit}`,
    ]
      .filter((part) => part !== '')
      .join('\n') + (q.semicolon ? ';' : ''),
  );

describe('guard properties', () => {
  it('(a) accepts generated queries, and its output re-parses to the same shape', () => {
    fc.assert(
      fc.property(query, (sql) => {
        const result = check(sql);
        expect(result.storesRead[0]).toBe(EDS);
        expect(shape(parseLakeSql(result.statement).root)).toEqual(shape(parseLakeSql(sql).root));
      }),
      { numRuns: 500 },
    );
  });

  it('(a) also holds for the sample queries', () => {
    for (const sample of cloudTrailSampleQueries) {
      const sql = sampleStatement(sample, EDS);
      expect(shape(parseLakeSql(check(sql).statement).root), sample.file).toEqual(shape(parseLakeSql(sql).root));
    }
  });

  const soupToken = fc.constantFrom(
    'SELECT', 'FROM', 'WHERE', 'WITH', 'AS', 'JOIN', 'ON', 'UNION', 'ALL', 'GROUP', 'BY', 'ORDER', 'LIMIT', 'CASE', 'WHEN', 'THEN', 'END', 'CAST',
    'NOT', 'AND', 'OR', 'IN', 'IS', 'NULL', 'TABLE', 'UNNEST', 'LATERAL', 'INTERVAL', 'DROP', 'INSERT', 'SHOW', 'EXPLAIN', 'OVER', 'PARTITION',
    'x', 'y', '"q"', '"a""b"', "'s'", "'it''s'", "U&'\\0041'", "X'00'", '1', '1.5', '2e3', EDS, '?', '(', ')', '[', ']', ',', '.', '*', ';', '=',
    '<', '>', '<=', '<>', '!=', '+', '-', '/', '%', '||', '->', '=>', '--c\n', '/*c*/', "'", '"', '/*', '$', '`', '\t', '\n',
  );

  it('(b) never throws anything but a LakeQueryError, on token soup or any string', () => {
    const outcome = (sql: string, parameters?: string[]) => {
      try {
        checkLakeQuery(sql, { resolveStore, parameters });
      } catch (error) {
        if (!(error instanceof LakeQueryError)) throw error;
      }
    };
    fc.assert(
      fc.property(fc.array(soupToken, { maxLength: 60 }), fc.array(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 3 }), (tokens, parameters) => outcome(tokens.join(' '), parameters)),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(fc.array(soupToken, { maxLength: 60 }), (tokens) => outcome(tokens.join(''))), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (sql) => outcome(sql)), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 200 }).map((s) => `SELECT ${s} FROM ${EDS}`), (sql) => outcome(sql)), { numRuns: 2000 });
  });

  it('(b) fails fast with the depth error on a megabyte of nesting, in any position', () => {
    const mb = 1 << 20;
    const huge = { resolveStore, maxStatementLength: 4 * mb };
    const cases = [
      '('.repeat(mb),
      `SELECT ${'('.repeat(mb)}`,
      `SELECT * FROM ${'('.repeat(mb)}`,
      `SELECT ${'NOT '.repeat(mb / 4)}x`,
      `SELECT ${'- '.repeat(mb / 2)}x`,
      `SELECT ${'x['.repeat(mb / 2)}`,
      `SELECT ${'f('.repeat(mb / 2)}`,
      `SELECT CAST(x AS ${'ROW(a '.repeat(mb / 8)}`,
      `SELECT ${'(SELECT '.repeat(mb / 8)}`,
      `SELECT * FROM ${EDS} WHERE x IN ${'(SELECT x FROM '.repeat(mb / 16)}`,
      `SELECT ${'(a, '.repeat(mb / 4)}`,
    ];
    for (const sql of cases) {
      const started = performance.now();
      let error: unknown;
      try {
        checkLakeQuery(sql, huge);
      } catch (e) {
        error = e;
      }
      const elapsed = performance.now() - started;
      expect(error, sql.slice(0, 30)).toBeInstanceOf(LakeQueryError);
      expect((error as LakeQueryError).code).toBe('InvalidQueryStatementException');
      expect((error as LakeQueryError).message, sql.slice(0, 30)).toMatch(/nests deeper than 64 levels/);
      expect(elapsed, sql.slice(0, 30)).toBeLessThan(500);
    }
  });

  it('(b) takes linear time on long flat queries', () => {
    const wide = (n: number) => `SELECT ${Array.from({ length: n }, (_, i) => `c${i}`).join(', ')} FROM ${EDS} WHERE ${Array.from({ length: n }, (_, i) => `c${i} = 'v' OR (c${i}, c${i}) IS NULL`).join(' AND ')}`;
    const time = (sql: string) => {
      const started = performance.now();
      checkLakeQuery(sql, { resolveStore, maxStatementLength: Infinity });
      return performance.now() - started;
    };
    time(wide(1000)); // warm up
    const small = time(wide(10_000));
    const large = time(wide(40_000));
    // Four times the input may take about four times as long; allow slack for timers and GC, but
    // a quadratic parser would take sixteen.
    expect(large).toBeLessThan(Math.max(small, 5) * 10);
    expect(large).toBeLessThan(5_000);
  });

  const statementAfter = fc.constantFrom('; DROP TABLE x', ';DELETE FROM x', '; SELECT 1', `; SELECT * FROM ${EDS}`, ';SHOW CATALOGS', '; -- c\nCALL system.x()', ';;', '; /* x */ SELECT 1');

  it('(c) refuses `;` and another statement inserted between any two tokens', () => {
    const bases = fc.oneof(query, fc.constantFrom(...cloudTrailSampleQueries.map((s) => sampleStatement(s, EDS))));
    fc.assert(
      fc.property(bases, fc.nat(), statementAfter, (sql, at, extra) => {
        const tokens = tokensOf(sql);
        // A token's start is outside every string and comment; the end of the text is too.
        const offsets = [...tokens.map((t) => t.start), sql.length];
        const offset = offsets[at % offsets.length]!;
        const hostile = sql.slice(0, offset) + extra + ' ' + sql.slice(offset);
        let error: unknown;
        try {
          check(hostile);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(LakeQueryError);
        expect((error as LakeQueryError).code).toBe('InvalidQueryStatementException');
      }),
      { numRuns: 1000 },
    );
  });
});
