import { describe, expect, it } from 'vitest';
import { checkLakeQuery, LakeQueryError, parseLakeSql } from '../../src/index.js';
import { check, codeOf, EDS, HIDDEN_EDS, OTHER_EDS, resolveStore, tableOf, tokensOf } from './stores.js';

const INVALID = 'InvalidQueryStatementException';
const NOT_FOUND = 'EventDataStoreNotFoundException';
const PARAMETER = 'InvalidParameterException';

describe('Trino query grammar', () => {
  // Each is accepted with the store bound; together they walk every production the guard implements.
  const accepted: [string, string][] = [
    ['select list forms', `SELECT ALL eventName, e.*, e.userIdentity.arn AS arn, count(*) n, "eventTime" FROM ${EDS} AS e`],
    ['distinct', `SELECT DISTINCT awsRegion FROM ${EDS}`],
    ['quoted store ID', `SELECT * FROM "${EDS}"`],
    ['upper-case store ID', `SELECT * FROM ${EDS.toUpperCase()}`],
    ['comma join', `SELECT * FROM ${EDS} a, ${OTHER_EDS} b WHERE a.eventID = b.eventID`],
    ['joins', `SELECT * FROM ${EDS} a INNER JOIN ${OTHER_EDS} b ON a.eventID = b.eventID LEFT OUTER JOIN ${EDS} c USING (eventID) RIGHT JOIN ${EDS} d ON true FULL JOIN ${EDS} f ON 1 = 1 CROSS JOIN ${EDS} g JOIN ${EDS} h ON h.x = g.x`],
    ['unnest', `SELECT r.arn, n FROM ${EDS} CROSS JOIN UNNEST(resources) WITH ORDINALITY AS r(arn, accountId, type, n)`],
    ['lateral', `SELECT * FROM ${EDS} e, LATERAL (SELECT e.eventName AS x) l`],
    ['tablesample', `SELECT * FROM ${EDS} TABLESAMPLE BERNOULLI (10)`],
    ['subquery relation', `SELECT * FROM (SELECT eventName FROM ${EDS}) t (name) WHERE name IS NOT NULL`],
    ['parenthesised relation', `SELECT * FROM (${EDS} a JOIN ${OTHER_EDS} b ON a.x = b.x)`],
    ['with', `WITH a AS (SELECT * FROM ${EDS}), b (x) AS (SELECT eventName FROM a) SELECT * FROM b JOIN a ON true`],
    ['where predicates', `SELECT 1 FROM ${EDS} WHERE a BETWEEN 1 AND 2 AND b NOT BETWEEN 3 AND 4 AND c IN (1, 2) AND d NOT IN (SELECT eventName FROM ${EDS}) AND e LIKE 'a!%' ESCAPE '!' AND f NOT LIKE 'x' AND g IS NULL AND h IS NOT NULL AND i IS DISTINCT FROM j AND k IS NOT DISTINCT FROM l AND NOT m AND (n OR o)`],
    ['comparisons', `SELECT 1 FROM ${EDS} WHERE a = 1 AND b <> 2 AND c != 3 AND d < 4 AND e <= 5 AND f > 6 AND g >= 7 AND h = ANY (SELECT 1) AND i > ALL (SELECT 2) AND j < SOME (VALUES 3)`],
    ['exists and scalar subquery', `SELECT (SELECT max(eventTime) FROM ${EDS}) FROM ${EDS} WHERE EXISTS (SELECT 1 FROM ${EDS})`],
    ['group by forms', `SELECT a, b, count(*) FROM ${EDS} GROUP BY DISTINCT GROUPING SETS ((a, b), (a), ()), ROLLUP (a, b), CUBE (b), 1 HAVING count(*) > 1`],
    ['window', `SELECT rank() OVER (PARTITION BY a ORDER BY b DESC NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), sum(x) OVER w, lag(x) IGNORE NULLS OVER (w RANGE 3 PRECEDING) FROM ${EDS} WINDOW w AS (PARTITION BY c GROUPS BETWEEN 1 PRECEDING AND 2 FOLLOWING)`],
    ['set operations', `SELECT a FROM ${EDS} UNION SELECT a FROM ${EDS} UNION ALL SELECT a FROM ${OTHER_EDS} INTERSECT DISTINCT SELECT a FROM ${EDS} EXCEPT ALL (SELECT a FROM ${EDS})`],
    ['order, offset, limit', `SELECT a FROM ${EDS} ORDER BY a ASC, b DESC NULLS FIRST OFFSET 10 ROWS LIMIT ALL`],
    ['fetch first', `SELECT a FROM ${EDS} FETCH FIRST 5 ROWS ONLY`],
    ['fetch next with ties', `SELECT a FROM ${EDS} ORDER BY a FETCH NEXT ROW WITH TIES`],
    ['literals', `SELECT 'it''s', U&'\\0041', U&'#0041' UESCAPE '#', X'0aFF', 1, 1_000, 0x1F, 1.5, .5, 1e3, 2.5E-3, DATE '2024-01-01', TIME '01:02:03', TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-01 00:00:00 UTC', interval '7' day, INTERVAL -'2' HOUR, INTERVAL '1-2' YEAR TO MONTH, true, FALSE, NULL, DOUBLE PRECISION '1.0', JSON '{}' FROM ${EDS}`],
    ['arithmetic and concatenation', `SELECT -a + b * c / d % e - -f || 'x' || g FROM ${EDS}`],
    ['dereference and subscripts', `SELECT a.b.c, x[1], element_at(resources, 1).arn, m['k'], "quoted"."name" FROM ${EDS}`],
    ['function call forms', `SELECT count(DISTINCT a), array_agg(b ORDER BY c DESC), count(*) FILTER (WHERE d > 1), max_by(a, b), if(a, b, c), replace(a, 'b'), date(eventTime), year(eventTime) FROM ${EDS}`],
    ['case', `SELECT CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END, CASE WHEN a > 1 THEN 1 END FROM ${EDS}`],
    ['casts', `SELECT CAST(a AS varchar), TRY_CAST(b AS decimal(10, 2)), CAST(c AS varchar(20)), CAST(d AS timestamp(3) with time zone), CAST(e AS ROW(x bigint, y ARRAY(varchar))), CAST(f AS map(varchar, json)), CAST(g AS ARRAY<MAP<varchar, bigint>>), CAST(h AS double precision), CAST(i AS bigint ARRAY), CAST(j AS interval day to second), CAST(k AS time without time zone) FROM ${EDS}`],
    ['special forms', `SELECT EXTRACT(YEAR FROM eventTime), position('a' IN b), trim(a), trim(BOTH 'x' FROM a), trim(LEADING FROM a), substring(a FROM 2 FOR 3), substring(a, 2), normalize(a, NFC), GROUPING(a) FROM ${EDS} GROUP BY a`],
    ['lambdas', `SELECT transform(a, x -> x + 1), reduce(b, 0, (s, x) -> s + x, s -> s), zip_with(c, d, (x, y) -> (x, y)), filter(e, () -> true) FROM ${EDS}`],
    ['arrays and rows', `SELECT ARRAY[1, 2, 3], ARRAY[], ROW(1, 'a'), (1, 2) FROM ${EDS}`],
    ['time', `SELECT eventTime AT TIME ZONE 'UTC', eventTime AT TIME ZONE INTERVAL '1' HOUR, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP(3), CURRENT_DATE, CURRENT_TIME, LOCALTIME, LOCALTIMESTAMP(6), CURRENT_USER, now() - interval '7' day FROM ${EDS}`],
    ['comments anywhere', `-- leading\nSELECT /* inline ; DROP TABLE x */ eventName -- trailing ; comment\nFROM ${EDS} /* between */ WHERE a = 'b' -- last`],
    ['trailing semicolon', `SELECT 1 FROM ${EDS} ;  -- done`],
    ['non-reserved words as names', `SELECT date, "user", key, value, first, last, limit FROM ${EDS} limit 3`],
    ['no FROM at all', `SELECT 1`],
    ['VALUES', `VALUES (1, 'a'), (2, 'b')`],
    ['parenthesised query', `(SELECT 1 FROM ${EDS})`],
    ['TABLE query', `TABLE ${EDS}`],
    ['CTEs named like rootQuery words', `WITH session AS (SELECT 1 AS x), function (y) AS (SELECT 2) SELECT * FROM session, function`],
    ['count(t.*) and sized array types', `SELECT count(e.*), CAST(a AS bigint ARRAY[3]) FROM ${EDS} e`],
  ];

  for (const [what, sql] of accepted) {
    it(`accepts ${what}`, () => {
      const result = check(sql);
      for (const id of result.storesRead) expect([EDS, OTHER_EDS]).toContain(id);
      expect(() => parseLakeSql(result.statement)).not.toThrow();
    });
  }

  it('reports each store once, in order of first reference', () => {
    expect(check(`SELECT * FROM ${OTHER_EDS} UNION ALL SELECT * FROM ${EDS} UNION ALL SELECT * FROM "${OTHER_EDS}"`).storesRead).toEqual([OTHER_EDS, EDS]);
    expect(check('SELECT 1').storesRead).toEqual([]);
  });

  it('rebuilds the statement from tokens: stores replaced, comments and the trailing ; dropped, spacing kept', () => {
    const result = check(`SELECT eventName -- why\nFROM ${EDS}\nWHERE eventTime > now() - interval '7' day;`);
    expect(result.statement).toBe(`SELECT eventName FROM ${tableOf(EDS)}\nWHERE eventTime > now() - interval '7' day`);
    expect(check(`SELECT * FROM"${EDS}"WHERE x=?`, ['v']).statement).toBe(`SELECT * FROM ${tableOf(EDS)} WHERE x= 'v'`);
  });

  it('treats WITH names as CTEs only where they are in scope', () => {
    expect(check(`WITH s AS (SELECT * FROM ${EDS}) SELECT * FROM s`).statement).toContain('FROM s');
    // A CTE cannot read itself (no RECURSIVE), and a CTE's name is gone outside its query.
    expect(codeOf(() => check(`WITH s AS (SELECT * FROM s) SELECT * FROM s`))).toBe(NOT_FOUND);
    expect(codeOf(() => check(`SELECT * FROM (WITH s AS (SELECT 1) SELECT * FROM s) JOIN s ON true`))).toBe(NOT_FOUND);
    // A bare store ID is always a store, whatever a CTE is called.
    expect(check(`WITH "${EDS}" AS (SELECT 1) SELECT * FROM ${EDS}`).storesRead).toEqual([EDS]);
  });

  it('nests up to the depth limit, one level per parenthesis, call or subquery', () => {
    const parens = (n: number) => `SELECT ${'('.repeat(n)}1${')'.repeat(n)} FROM ${EDS}`;
    const calls = (n: number) => `SELECT ${'abs('.repeat(n)}1${')'.repeat(n)} FROM ${EDS}`;
    expect(() => check(parens(60))).not.toThrow();
    expect(() => check(calls(60))).not.toThrow();
    expect(codeOf(() => check(parens(63)))).toBe(INVALID);
    expect(() => check(parens(63))).toThrow(/nests deeper than 64 levels/);
    expect(() => checkLakeQuery(parens(100), { resolveStore, maxDepth: 128 })).not.toThrow();
  });

  it('reports the position of errors', () => {
    try {
      check(`SELECT *\nFROM ${EDS}\nWHERE a = = 1`);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LakeQueryError);
      const e = error as LakeQueryError;
      expect(e.code).toBe(INVALID);
      expect(e.position).toMatchObject({ line: 3, column: 11 });
      expect(e.message).toContain('line 3, column 11');
      expect(e.canRetry).toBe(false);
    }
  });
});

describe('hostile queries', () => {
  const refused: [string, string, string][] = [
    // Statements that are not queries.
    ['DROP TABLE', `DROP TABLE ${EDS}`, INVALID],
    ['INSERT', `INSERT INTO lake.eds.x SELECT * FROM ${EDS}`, INVALID],
    ['UPDATE', `UPDATE x SET a = 1`, INVALID],
    ['DELETE', `DELETE FROM ${EDS}`, INVALID],
    ['MERGE', `MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE`, INVALID],
    ['CREATE TABLE AS', `CREATE TABLE x AS SELECT * FROM ${EDS}`, INVALID],
    ['ALTER', `ALTER TABLE x RENAME TO y`, INVALID],
    ['TRUNCATE', `TRUNCATE TABLE x`, INVALID],
    ['COMMENT', `COMMENT ON TABLE x IS 'y'`, INVALID],
    ['GRANT', `GRANT SELECT ON x TO ROLE public`, INVALID],
    ['EXPLAIN', `EXPLAIN SELECT * FROM ${EDS}`, INVALID],
    ['EXPLAIN ANALYZE', `EXPLAIN ANALYZE SELECT * FROM ${EDS}`, INVALID],
    ['SHOW CATALOGS', `SHOW CATALOGS`, INVALID],
    ['SHOW TABLES', `SHOW TABLES FROM lake.eds`, INVALID],
    ['DESCRIBE', `DESCRIBE lake.eds.x`, INVALID],
    ['USE', `USE lake.eds`, INVALID],
    ['SET SESSION', `SET SESSION query_max_run_time = '1d'`, INVALID],
    ['RESET SESSION', `RESET SESSION query_max_run_time`, INVALID],
    ['PREPARE', `PREPARE q FROM SELECT 1`, INVALID],
    ['EXECUTE', `EXECUTE q USING 1`, INVALID],
    ['CALL', `CALL system.runtime.kill_query(query_id => 'x')`, INVALID],
    ['START TRANSACTION', `START TRANSACTION`, INVALID],
    ['lower-case statement', `drop table x`, INVALID],
    ['statement after a comment', `/* SELECT */ DROP TABLE x`, INVALID],
    // More than one statement, however the second one hides.
    ['two statements', `SELECT 1 FROM ${EDS}; DROP TABLE x`, INVALID],
    ['two queries', `SELECT 1 FROM ${EDS}; SELECT 2 FROM ${EDS}`, INVALID],
    ['two semicolons', `SELECT 1 FROM ${EDS};;`, INVALID],
    ['semicolon inside a comment does not end the statement', `SELECT 1 FROM ${EDS} /* ; */ ; DROP TABLE x`, INVALID],
    ['statement after a line comment', `SELECT 1 FROM ${EDS} -- ;\n; DROP TABLE x`, INVALID],
    ['string hiding a quote', `SELECT 'a'';' FROM ${EDS}; DROP TABLE x`, INVALID],
    ['unterminated string', `SELECT 'a FROM ${EDS}`, INVALID],
    ['unterminated comment', `SELECT 1 FROM ${EDS} /* ; DROP TABLE x`, INVALID],
    ['backslash is not an escape', `SELECT 'a\\' FROM ${EDS}; DROP TABLE x --'`, INVALID],
    ['empty', ``, INVALID],
    ['only a comment', `-- nothing`, INVALID],
    ['only a semicolon', `;`, INVALID],
    // Tables that are not (readable) event data stores.
    ['unknown store', `SELECT * FROM 00000000-0000-4000-8000-000000000000`, NOT_FOUND],
    ['unreadable store', `SELECT * FROM ${HIDDEN_EDS}`, NOT_FOUND],
    ['unreadable store in a join', `SELECT * FROM ${EDS} JOIN ${HIDDEN_EDS} h ON true`, NOT_FOUND],
    ['unreadable store in a subquery', `SELECT * FROM ${EDS} WHERE eventID IN (SELECT eventID FROM "${HIDDEN_EDS}")`, NOT_FOUND],
    ['unreadable store in a CTE', `WITH h AS (SELECT * FROM ${HIDDEN_EDS}) SELECT * FROM ${EDS}`, NOT_FOUND],
    ['unreadable store in a lateral', `SELECT * FROM ${EDS}, LATERAL (SELECT * FROM ${HIDDEN_EDS})`, NOT_FOUND],
    ['unreadable store in EXISTS', `SELECT 1 WHERE EXISTS (SELECT 1 FROM ${HIDDEN_EDS})`, NOT_FOUND],
    ['unreadable store via TABLE', `TABLE ${HIDDEN_EDS}`, NOT_FOUND],
    ['plain table name', `SELECT * FROM events`, NOT_FOUND],
    ['store ARN', `SELECT * FROM "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/${EDS}"`, NOT_FOUND],
    // Catalog probing.
    ['system.runtime.queries', `SELECT * FROM system.runtime.queries`, INVALID],
    ['system.metadata.catalogs', `SELECT * FROM ${EDS} UNION ALL SELECT * FROM system.metadata.catalogs`, INVALID],
    ['information_schema', `SELECT * FROM information_schema.tables`, INVALID],
    ['catalog-qualified information_schema', `SELECT table_name FROM lake.information_schema.tables`, INVALID],
    ['the lake catalog itself', `SELECT * FROM lake."eds"."${EDS.replaceAll('-', '_')}"`, INVALID],
    ['schema-qualified store', `SELECT * FROM eds."${EDS}"`, INVALID],
    ['qualified store ID', `SELECT * FROM ${EDS}.x`, INVALID],
    ['table function', `SELECT * FROM TABLE(system.query(query => 'SELECT 1'))`, INVALID],
    ['table function in a join', `SELECT * FROM ${EDS} CROSS JOIN TABLE(exclude_columns(input => TABLE(${EDS}), columns => DESCRIPTOR(a)))`, INVALID],
    ['table function in a subquery', `SELECT * FROM ${EDS} WHERE a IN (SELECT * FROM TABLE(sequence(1, 10)))`, INVALID],
    ['qualified function', `SELECT system.builtin.now() FROM ${EDS}`, INVALID],
    ['store ID as a column', `SELECT ${EDS} FROM ${EDS}`, INVALID],
    ['time travel', `SELECT * FROM x FOR VERSION AS OF 1`, INVALID],
    ['WITH RECURSIVE', `WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT * FROM t`, INVALID],
    ['WITH FUNCTION', `WITH FUNCTION f() RETURNS int RETURN 1 SELECT f()`, INVALID],
    ['WITH SESSION', `WITH SESSION query_max_run_time = '100d' SELECT * FROM ${EDS}`, INVALID],
    ['backquoted name', 'SELECT * FROM `x`', INVALID],
    ['identifier starting with a digit', `SELECT 1abc FROM ${EDS}`, INVALID],
    ['NATURAL JOIN', `SELECT * FROM ${EDS} NATURAL JOIN ${OTHER_EDS}`, INVALID],
    ['syntax error', `SELECT FROM ${EDS} WHERE`, INVALID],
    ['stray character', `SELECT 1 FROM ${EDS} WHERE a = $1`, INVALID],
    ['non-breaking space', `SELECT\u00a01 FROM ${EDS}`, INVALID],
  ];

  for (const [what, sql, code] of refused) {
    it(`refuses ${what} (${code})`, () => {
      expect(codeOf(() => check(sql))).toBe(code);
    });
  }

  it('refuses statements longer than the API allows', () => {
    const long = `SELECT 1 FROM ${EDS} WHERE a = '${'x'.repeat(10_000)}'`;
    expect(codeOf(() => check(long))).toBe(INVALID);
    expect(checkLakeQuery(long, { resolveStore, maxStatementLength: 20_000 }).storesRead).toEqual([EDS]);
  });

  it('refuses unpaired surrogates and NUL in the statement', () => {
    expect(codeOf(() => check(`SELECT '\ud800' FROM ${EDS}`))).toBe(INVALID);
    expect(codeOf(() => check(`SELECT '\0' FROM ${EDS}`))).toBe(INVALID);
  });
});

describe('QueryParameters', () => {
  const hostile = [
    "'",
    "x' OR '1'='1",
    "'; DROP TABLE x; --",
    '\\',
    "\\'",
    "a\\'); DROP TABLE x; --",
    '-- comment',
    '/* comment',
    '*/',
    '"',
    '?',
    '$1',
    'U&\'\\0027\'',
    "'' ''",
    'line\nbreak\r\n',
    'ünïcödé 😀 ‮',
    '\u2028\u2029',
    `${EDS}`,
    'x'.repeat(1024),
  ];

  for (const value of hostile) {
    it(`binds ${JSON.stringify(value.slice(0, 30))} as exactly one string literal`, () => {
      const result = check(`SELECT eventName FROM ${EDS} WHERE userIdentity.arn = ? AND eventName <> 'x'`, [value]);
      const tokens = tokensOf(result.statement);
      const before = tokensOf(`SELECT eventName FROM ${tableOf(EDS)} WHERE userIdentity.arn =`);
      const after = tokensOf(`AND eventName <> 'x'`);
      expect(tokens.length).toBe(before.length + 1 + after.length);
      expect(tokens.slice(0, before.length).map((t) => t.text)).toEqual(before.map((t) => t.text));
      const bound = tokens[before.length]!;
      expect(bound.kind).toBe('string');
      expect(bound.value).toBe(value);
      expect(tokens.slice(before.length + 1).map((t) => t.text)).toEqual(after.map((t) => t.text));
      expect(result.storesRead).toEqual([EDS]);
    });
  }

  it('binds several markers in order, wherever they appear', () => {
    const result = check(`SELECT ? AS a FROM ${EDS} WHERE x IN (?, ?) AND y LIKE ?`, ['one', 'two', "th'ree", '%4']);
    const strings = tokensOf(result.statement).filter((t) => t.kind === 'string').map((t) => t.value);
    expect(strings).toEqual(['one', 'two', "th'ree", '%4']);
  });

  it("binds Lake's quoted '?' markers (dashboard queries) only when parameters are given", () => {
    const sql = `SELECT eventName FROM ${EDS} WHERE eventTime >= '?' AND eventTime <= '?' AND eventName = ?`;
    const result = check(sql, ['2024-01-01 00:00:00', "2024-01-02 00:00:00' OR 'x", 'GetObject']);
    const strings = tokensOf(result.statement).filter((t) => t.kind === 'string').map((t) => t.value);
    expect(strings).toEqual(['2024-01-01 00:00:00', "2024-01-02 00:00:00' OR 'x", 'GetObject']);
    expect(result.statement).not.toContain("'?'");
    // Without parameters, '?' is the one-character string it looks like.
    expect(check(`SELECT * FROM ${EDS} WHERE eventName = '?'`).statement).toContain("'?'");
  });

  it('types strings compared with eventTime as TIMESTAMP literals, as Lake compares them', () => {
    expect(check(`SELECT eventName FROM ${EDS} WHERE eventTime > '2023-01-01 00:00:00' AND '2023-02-01' >= e.eventTime AND eventTime BETWEEN '2023-01-01' AND '2023-01-02' AND eventName = '2023-01-01'`).statement).toBe(
      `SELECT eventName FROM ${tableOf(EDS)} WHERE (eventTime > TIMESTAMP '2023-01-01 00:00:00' AND TIMESTAMP '2023-02-01' >= e.eventTime AND eventTime BETWEEN TIMESTAMP '2023-01-01' AND TIMESTAMP '2023-01-02' AND eventName = '2023-01-01') AND eventdate >= '2023-01-01' AND eventdate <= '2023-01-02'`,
    );
    expect(check(`SELECT eventName FROM ${EDS} WHERE eventTime >= '?' AND eventTime < date_add('day', 1, '2023-01-01') AND eventTime > ('2023-01-01' || '')`, ['2024-01-01 00:00:00']).statement).toBe(
      `SELECT eventName FROM ${tableOf(EDS)} WHERE eventTime >= TIMESTAMP '2024-01-01 00:00:00' AND eventTime < date_add('day', 1, '2023-01-01') AND eventTime > ('2023-01-01' || '')`,
    );
  });

  it('bounds the day partition by what the top-level conjuncts of a WHERE over one store say of eventTime, and nothing else', () => {
    const bounded = (where: string, from = EDS) => check(`SELECT eventName FROM ${from} WHERE ${where}`).statement.replace(/^SELECT eventName FROM \S+(?: \w+)? WHERE /, '');
    // The store's alias, either side of the comparison, the tightest bound of several, = and BETWEEN.
    expect(bounded("t.eventTime >= TIMESTAMP '2023-01-05 13:51:00' AND t.eventTime < '2023-01-19 13:51:00.5'", `${EDS} t`)).toBe(
      "(t.eventTime >= TIMESTAMP '2023-01-05 13:51:00' AND t.eventTime < TIMESTAMP '2023-01-19 13:51:00.5') AND eventdate >= '2023-01-05' AND eventdate <= '2023-01-19'",
    );
    expect(bounded("'2023-03-01' > eventTime AND eventTime > '2023-01-01' AND eventTime > '2023-02-01 00:00'")).toBe(
      "(TIMESTAMP '2023-03-01' > eventTime AND eventTime > TIMESTAMP '2023-01-01' AND eventTime > TIMESTAMP '2023-02-01 00:00') AND eventdate >= '2023-02-01' AND eventdate <= '2023-03-01'",
    );
    expect(bounded("eventTime = TIMESTAMP '2023-01-05 00:00:00'")).toBe("(eventTime = TIMESTAMP '2023-01-05 00:00:00') AND eventdate >= '2023-01-05' AND eventdate <= '2023-01-05'");
    expect(bounded("eventName = 'x' AND (eventTime BETWEEN '2023-01-01' AND '2023-01-02')")).toBe(
      "(eventName = 'x' AND (eventTime BETWEEN TIMESTAMP '2023-01-01' AND TIMESTAMP '2023-01-02' )) AND eventdate >= '2023-01-01' AND eventdate <= '2023-01-02'",
    );
    // A contradiction stays one: no event falls on no day.
    expect(bounded("eventTime > '2023-02-01' AND eventTime < '2023-01-01'")).toMatch(/AND eventdate >= '2023-02-01' AND eventdate <= '2023-01-01'$/);
    // Nothing certain: under OR or NOT, a zone, a day that does not exist, an expression, a marker, another table's column.
    for (const where of [
      "eventTime > '2023-01-01' OR eventName = 'x'",
      "NOT (eventTime > '2023-01-01')",
      "eventTime NOT BETWEEN '2023-01-01' AND '2023-01-02'",
      "eventTime > TIMESTAMP '2023-01-01 00:00:00 UTC'",
      "eventTime > '2023-01-01T00:00:00Z'",
      "eventTime > '2023-02-30'",
      "eventTime > date_add('day', -7, current_timestamp)",
      "x.eventTime > '2023-01-01'",
      "eventTime <> '2023-01-01'",
    ]) {
      expect(bounded(where), where).not.toContain('eventdate');
    }
    expect(check(`SELECT eventName FROM ${EDS} WHERE eventTime >= '?'`, ['2024-01-01 00:00:00']).statement).not.toContain('eventdate');
    // Only over one store: not over a join, a subquery, a CTE or a table with renamed columns;
    // a subquery's own WHERE over one store is bounded on its own.
    for (const sql of [
      `SELECT a.eventName FROM ${EDS} a JOIN ${EDS} b ON a.eventID = b.eventID WHERE a.eventTime > '2023-01-01'`,
      `SELECT eventName FROM ${EDS}, ${EDS} b WHERE eventTime > '2023-01-01'`,
      `SELECT eventName FROM (SELECT eventName, eventTime FROM ${EDS}) WHERE eventTime > '2023-01-01'`,
      `WITH t AS (SELECT eventName, eventTime FROM ${EDS}) SELECT eventName FROM t WHERE eventTime > '2023-01-01'`,
      `SELECT eventName FROM ${EDS} AS t (a, b) WHERE eventTime > '2023-01-01'`,
    ]) {
      expect(check(sql).statement, sql).not.toContain('eventdate');
    }
    expect(check(`SELECT eventName FROM ${EDS} WHERE eventID IN (SELECT eventID FROM ${EDS} WHERE eventTime > '2023-01-01') AND eventName = 'x'`).statement).toBe(
      `SELECT eventName FROM ${tableOf(EDS)} WHERE eventID IN (SELECT eventID FROM ${tableOf(EDS)} WHERE (eventTime > TIMESTAMP '2023-01-01') AND eventdate >= '2023-01-01' ) AND eventName = 'x'`,
    );
  });

  it('refuses a marker where a row count goes', () => {
    expect(codeOf(() => check(`SELECT * FROM ${EDS} LIMIT ?`, ['5']))).toBe(INVALID);
    expect(codeOf(() => check(`SELECT * FROM ${EDS} OFFSET ?`, ['5']))).toBe(INVALID);
  });

  it('refuses a count that does not match the markers', () => {
    expect(codeOf(() => check(`SELECT * FROM ${EDS} WHERE a = ?`))).toBe(PARAMETER);
    expect(codeOf(() => check(`SELECT * FROM ${EDS} WHERE a = ?`, ['a', 'b']))).toBe(PARAMETER);
    expect(codeOf(() => check(`SELECT * FROM ${EDS}`, ['a']))).toBe(PARAMETER);
    // A `?` inside a longer string or a comment is not a marker.
    expect(codeOf(() => check(`SELECT 'a?', '??', U&'?' FROM ${EDS} -- ?\n/* ? */`, ['a']))).toBe(PARAMETER);
  });

  it('refuses parameters outside the API model: more than 10, empty, longer than 1024', () => {
    const eleven = Array.from({ length: 11 }, () => 'x');
    expect(codeOf(() => check(`SELECT ${eleven.map(() => '?').join(', ')} FROM ${EDS}`, eleven))).toBe(PARAMETER);
    expect(codeOf(() => check(`SELECT ? FROM ${EDS}`, ['']))).toBe(PARAMETER);
    expect(codeOf(() => check(`SELECT ? FROM ${EDS}`, ['x'.repeat(1025)]))).toBe(PARAMETER);
    expect(codeOf(() => check(`SELECT ? FROM ${EDS}`, ['\ud800']))).toBe(PARAMETER);
    expect(codeOf(() => check(`SELECT ? FROM ${EDS}`, ['a\0b']))).toBe(PARAMETER);
  });
});

describe('resolveStore answers', () => {
  it('are emitted as given, and must be one qualified name', () => {
    const weird = (table: string) => () => checkLakeQuery(`SELECT * FROM ${EDS}`, { resolveStore: () => ({ id: EDS, table }) });
    expect(weird('lake.eds."odd ""name"""')().statement).toBe('SELECT * FROM lake.eds."odd ""name"""');
    expect(weird('x; DROP TABLE y')).toThrow(/not a qualified table name/);
    expect(weird('x --')).toThrow(/not a qualified table name/);
    expect(weird('a.b c')).toThrow(/not a qualified table name/);
    expect(weird('')).toThrow(/not a qualified table name/);
  });
});
