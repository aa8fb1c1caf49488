import { LakeQueryError, positionOf, statementError } from './errors.js';
import { TokenStream, type Token } from './lexer.js';

/**
 * A recursive-descent parser for Trino's `query` rule (SqlBase.g4), for the query guard.
 *
 * It decides what the statement is (one query, nothing else), records every table reference and
 * parameter marker by token index, and builds a small syntax tree whose only use is comparing shapes
 * (tests re-parse the guard's output). It does not resolve columns or types: Trino does that.
 *
 * Lookahead is bounded (a few tokens, or one scan of a lambda's parameter list or of a run of `(`
 * capped at the depth limit), nothing backtracks, and every recursion passes through `enter()`, so
 * time is linear in the tokens and nesting deeper than `maxDepth` fails with a typed error long
 * before the stack could overflow.
 */
export interface SqlNode {
  readonly kind: string;
  readonly value?: string;
  readonly children: readonly SqlNode[];
}

export interface TableReference {
  /** Index of the reference's first token; a single-part reference is exactly one token. */
  readonly token: number;
  readonly tokenCount: number;
  /** The name's parts as Trino reads them (quotes removed); a bare store ID is one part. */
  readonly parts: readonly string[];
  /** A bare (unquoted) event data store ID token. */
  readonly storeIdToken: boolean;
  /** A one-part name introduced by an enclosing WITH: a CTE, not a table. */
  readonly cte: boolean;
}

export interface ParsedQuery {
  readonly root: SqlNode;
  readonly tokens: readonly Token[];
  readonly tables: readonly TableReference[];
  /** Token indexes of the `?` markers, in order. */
  readonly parameters: readonly number[];
  /**
   * Token indexes of string literals that are exactly `'?'`, in order: Lake's dashboard queries
   * write the marker quoted where it stands for a time (RequestWidget.QueryStatement: "When a query
   * uses ? with eventTime, ? must be surrounded by single quotes"), so these are markers too when
   * QueryParameters are given.
   */
  readonly quotedParameters: readonly number[];
  /**
   * Token indexes of string literals compared with the eventTime column (`eventTime > '2023-01-01
   * 00:00:00'`, either side of a comparison, or a BETWEEN bound), in order. Lake compares them as
   * times, as AWS's sample queries and Lake's dashboard queries (`eventTime >= '?'`) rely on; Trino
   * refuses timestamp(3) > varchar, so the guard writes them as TIMESTAMP literals.
   */
  readonly timeLiterals: readonly number[];
  /**
   * WHERE clauses over one event data store that bound eventTime by literals in their top-level
   * conjuncts (`eventTime > '2023-01-05 13:51:00' AND …`, BETWEEN, =): the clause's tokens and the
   * first and last day (UTC, YYYY-MM-DD) an event it keeps can fall on. The guard adds the same
   * bounds on the table's day partition column, which only Trino's partition pruning reads.
   */
  readonly dayBounds: readonly DayBounds[];
  /** Index of the token after the statement (the optional trailing `;` or the end). */
  readonly end: number;
}

export interface DayBounds {
  /** The WHERE expression's first token and the token after its last. */
  readonly from: number;
  readonly to: number;
  readonly first?: string;
  readonly last?: string;
}

export interface ParseOptions {
  /** Deepest nesting of expressions, subqueries and relations. @default 64 */
  readonly maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 64;

/**
 * Trino's reserved words (SqlBase.g4's nonReserved is the complement): they cannot be unquoted
 * identifiers, which is what lets the parser tell `FROM t WHERE` from `FROM t alias`.
 */
const RESERVED = new Set([
  'ALTER', 'AND', 'AS', 'BETWEEN', 'BY', 'CASE', 'CAST', 'CONSTRAINT', 'CREATE', 'CROSS', 'CUBE', 'CURRENT_CATALOG', 'CURRENT_DATE',
  'CURRENT_PATH', 'CURRENT_ROLE', 'CURRENT_SCHEMA', 'CURRENT_TIME', 'CURRENT_TIMESTAMP', 'CURRENT_USER', 'DEALLOCATE', 'DELETE',
  'DESCRIBE', 'DISTINCT', 'DROP', 'ELSE', 'END', 'ESCAPE', 'EXCEPT', 'EXECUTE', 'EXISTS', 'EXTRACT', 'FALSE', 'FOR', 'FROM', 'FULL',
  'GROUP', 'GROUPING', 'HAVING', 'IN', 'INNER', 'INSERT', 'INTERSECT', 'INTO', 'IS', 'JOIN', 'JSON_ARRAY', 'JSON_EXISTS',
  'JSON_OBJECT', 'JSON_QUERY', 'JSON_TABLE', 'JSON_VALUE', 'LEFT', 'LIKE', 'LISTAGG', 'LOCALTIME', 'LOCALTIMESTAMP', 'NATURAL',
  'NORMALIZE', 'NOT', 'NULL', 'ON', 'OR', 'ORDER', 'OUTER', 'PREPARE', 'RECURSIVE', 'RIGHT', 'ROLLUP', 'SELECT', 'TABLE',
  'THEN', 'TRIM', 'TRUE', 'UESCAPE', 'UNION', 'UNNEST', 'USING', 'VALUES', 'WHEN', 'WHERE', 'WITH',
]);

/** Non-reserved words that start a clause after a relation or select item, so never an implicit alias. */
const NOT_AN_ALIAS = new Set(['LIMIT', 'OFFSET', 'FETCH', 'WINDOW', 'TABLESAMPLE', 'MATCH_RECOGNIZE']);

/** First words of statements that are not queries, and what to call them in the refusal. */
const OTHER_STATEMENTS = new Map<string, string>([
  ['EXPLAIN', 'EXPLAIN'], ['SHOW', 'SHOW'], ['DESCRIBE', 'DESCRIBE'], ['DESC', 'DESCRIBE'], ['USE', 'USE'], ['SET', 'SET'],
  ['RESET', 'RESET'], ['PREPARE', 'PREPARE'], ['EXECUTE', 'EXECUTE'], ['DEALLOCATE', 'DEALLOCATE'], ['CALL', 'CALL'],
  ['GRANT', 'GRANT'], ['REVOKE', 'REVOKE'], ['DENY', 'DENY'], ['INSERT', 'INSERT'], ['UPDATE', 'UPDATE'], ['DELETE', 'DELETE'],
  ['MERGE', 'MERGE'], ['CREATE', 'CREATE'], ['DROP', 'DROP'], ['ALTER', 'ALTER'], ['TRUNCATE', 'TRUNCATE'], ['COMMENT', 'COMMENT'],
  ['START', 'START TRANSACTION'], ['COMMIT', 'COMMIT'], ['ROLLBACK', 'ROLLBACK'], ['ANALYZE', 'ANALYZE'], ['REFRESH', 'REFRESH'],
]);

/** Functions whose special argument syntax this parser does not implement; refused, not misread. */
const UNSUPPORTED_SYNTAX = new Set(['JSON_ARRAY', 'JSON_EXISTS', 'JSON_OBJECT', 'JSON_QUERY', 'JSON_VALUE', 'LISTAGG']);

const COMPARISON = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);
const INTERVAL_FIELDS = new Set(['YEAR', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND']);
const SPECIAL_DATETIME = new Set(['CURRENT_DATE', 'CURRENT_TIME', 'CURRENT_TIMESTAMP', 'LOCALTIME', 'LOCALTIMESTAMP']);
const SPECIAL_NAMES = new Set(['CURRENT_USER', 'CURRENT_CATALOG', 'CURRENT_SCHEMA', 'CURRENT_PATH', 'CURRENT_ROLE']);

/** A FROM relation that is one table, bare or aliased without column aliases: its alias, if any. */
function storeAlias(relation: SqlNode): { alias?: string } | undefined {
  if (relation.kind === 'table') return {};
  if (relation.kind === 'aliased' && relation.children.length === 1 && relation.children[0]!.kind === 'table') return { alias: relation.value! };
  return undefined;
}

/** `YYYY-MM-DD[ HH:MM[:SS[.fraction]]]`, no zone: a timestamp literal whose day is its first ten characters. */
const ZONELESS_TIME = /^(\d{4})-(\d{2})-(\d{2})(?: \d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?)?$/;

/** The day of a string or TIMESTAMP literal compared with eventTime, when it is plain enough to be sure. */
function literalDay(value: SqlNode): string | undefined {
  const text = value.kind === 'string' ? value.value : value.kind === 'typedLiteral' && value.value === 'timestamp' ? value.children[0]?.value : undefined;
  const m = text === undefined ? null : ZONELESS_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  // A day that does not exist (2023-02-30) is left alone: Trino refuses the literal itself.
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? text!.slice(0, 10) : undefined;
}

const FLIPPED = new Map([['>', '<'], ['>=', '<='], ['<', '>'], ['<=', '>='], ['=', '=']]);

/**
 * The days an event kept by `where` can fall on, from its top-level conjuncts that compare eventTime
 * (unqualified, or qualified by the store's alias) with a literal. A conjunct elsewhere (under OR or
 * NOT) bounds nothing for certain, so it is not looked at.
 */
function eventTimeDays(where: SqlNode, alias: string | undefined): { first?: string; last?: string } | undefined {
  const isEventTime = (n: SqlNode) =>
    n.value === 'eventtime' && (n.kind === 'identifier' || (n.kind === 'dereference' && alias !== undefined && n.children[0]?.kind === 'identifier' && n.children[0].value === alias));
  let first: string | undefined;
  let last: string | undefined;
  const atLeast = (day: string | undefined) => void (day !== undefined && (first === undefined || day > first) && (first = day));
  const atMost = (day: string | undefined) => void (day !== undefined && (last === undefined || day < last) && (last = day));
  // The AND chain is iterated, not recursed: its length is not bounded by the depth limit.
  const pending = [where];
  while (pending.length > 0) {
    const n = pending.pop()!;
    if (n.kind === 'and') {
      pending.push(...n.children);
      continue;
    }
    if (n.kind === 'between' && isEventTime(n.children[0]!)) {
      atLeast(literalDay(n.children[1]!));
      atMost(literalDay(n.children[2]!));
      continue;
    }
    const flipped = FLIPPED.get(n.kind);
    if (flipped === undefined || n.children.length !== 2) continue;
    const [left, right] = n.children as [SqlNode, SqlNode];
    const [op, day] = isEventTime(left) ? [n.kind, literalDay(right)] : isEventTime(right) ? [flipped, literalDay(left)] : [undefined, undefined];
    if (op === '>' || op === '>=' || op === '=') atLeast(day);
    if (op === '<' || op === '<=' || op === '=') atMost(day);
  }
  return first === undefined && last === undefined ? undefined : { ...(first !== undefined ? { first } : {}), ...(last !== undefined ? { last } : {}) };
}

function node(kind: string, children: SqlNode[] = [], value?: string): SqlNode {
  return value === undefined ? { kind, children } : { kind, value, children };
}

export function parseLakeSql(source: string, options: ParseOptions = {}): ParsedQuery {
  return new Parser(source, new TokenStream(source), options.maxDepth ?? DEFAULT_MAX_DEPTH).parseStatement();
}

class Parser {
  private pos = 0;
  private depth = 0;
  /** CTE names visible here, innermost WITH last; lower-cased since Trino's names ignore case. */
  private readonly scopes: Set<string>[] = [];
  private readonly tables: TableReference[] = [];
  private readonly parameters: number[] = [];
  private readonly quotedParameters: number[] = [];
  private readonly timeLiterals: number[] = [];
  private readonly dayBounds: DayBounds[] = [];

  constructor(
    private readonly source: string,
    private readonly tokens: TokenStream,
    private readonly maxDepth: number,
  ) {}

  // ---- token helpers ----

  private peek(k = 0): Token {
    return this.tokens.at(this.pos + k);
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.pos++;
    return token;
  }

  private isWord(word: string, k = 0): boolean {
    const token = this.peek(k);
    return token.kind === 'identifier' && token.value === word;
  }

  private isOp(op: string, k = 0): boolean {
    const token = this.peek(k);
    return token.kind === 'operator' && token.value === op;
  }

  private acceptWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.pos++;
    return true;
  }

  private acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.pos++;
    return true;
  }

  private expectWord(word: string): void {
    if (!this.acceptWord(word)) this.fail(`expected ${word}`);
  }

  private expectOp(op: string): void {
    if (!this.acceptOp(op)) this.fail(`expected '${op}'`);
  }

  private fail(message: string, token: Token = this.peek()): never {
    const found = token.kind === 'eof' ? 'end of input' : `'${token.text.length > 40 ? `${token.text.slice(0, 40)}…` : token.text}'`;
    throw statementError(this.source, token.start, `Syntax error: ${message}, found ${found}`);
  }

  private refuse(message: string, token: Token = this.peek()): never {
    throw statementError(this.source, token.start, message);
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) this.nestTooDeep();
  }

  private leave(): void {
    this.depth--;
  }

  private nested<T>(parse: () => T): T {
    this.enter();
    const result = parse();
    this.leave();
    return result;
  }

  private isIdentifier(k = 0): boolean {
    const token = this.peek(k);
    return token.kind === 'quotedIdentifier' || (token.kind === 'identifier' && !RESERVED.has(token.value));
  }

  private identifier(): string {
    const token = this.peek();
    if (!this.isIdentifier()) this.fail('expected an identifier');
    this.pos++;
    return token.kind === 'quotedIdentifier' ? token.value : token.text;
  }

  private list<T>(parse: () => T): T[] {
    const items = [parse()];
    while (this.acceptOp(',')) items.push(parse());
    return items;
  }

  /** After a relation or select item: is the next token an implicit alias (`FROM t x`, `SELECT a b`)? */
  private isImplicitAlias(): boolean {
    const token = this.peek();
    if (token.kind === 'quotedIdentifier') return true;
    return token.kind === 'identifier' && !RESERVED.has(token.value) && !NOT_AN_ALIAS.has(token.value);
  }

  // ---- statements and queries ----

  parseStatement(): ParsedQuery {
    const first = this.peek();
    if (first.kind === 'eof') this.refuse('The query statement is empty');
    if (first.kind === 'identifier' && OTHER_STATEMENTS.has(first.value)) {
      this.refuse(`Only SELECT queries are allowed: ${OTHER_STATEMENTS.get(first.value)} statements are refused`);
    }
    const startsQuery = first.kind === 'identifier' ? ['SELECT', 'WITH', 'VALUES', 'TABLE'].includes(first.value) : first.kind === 'operator' && first.value === '(';
    if (!startsQuery) this.refuse(`Only SELECT queries are allowed: the statement cannot start with '${first.text.slice(0, 40)}'`);
    const root = this.query();
    const end = this.pos;
    if (this.acceptOp(';')) {
      // One trailing `;` is accepted (Lake's samples end with one) and dropped from the output.
      if (this.peek().kind !== 'eof') this.refuse('Only one statement is allowed per query', this.peek());
    } else if (this.peek().kind !== 'eof') {
      this.fail('expected the end of the query');
    }
    return { root, tokens: this.tokens.all(), tables: this.tables, parameters: this.parameters, quotedParameters: this.quotedParameters, timeLiterals: this.timeLiterals, dayBounds: this.dayBounds, end };
  }

  private query(): SqlNode {
    this.enter();
    const children: SqlNode[] = [];
    let scoped = false;
    if (this.acceptWord('WITH')) {
      if (this.isWord('RECURSIVE')) this.refuse('WITH RECURSIVE is not allowed');
      // Trino's rootQuery: `WITH FUNCTION …` defines routines and `WITH SESSION x = …` sets session
      // properties for the query; a CTE that happens to be named function or session is followed by AS or (.
      const cteFollows = this.isWord('AS', 1) || this.isOp('(', 1);
      if (this.isWord('FUNCTION') && !cteFollows) this.refuse('Inline functions (WITH FUNCTION) are not allowed');
      if (this.isWord('SESSION') && !cteFollows) this.refuse('Session properties (WITH SESSION) are not allowed');
      const scope = new Set<string>();
      this.scopes.push(scope);
      scoped = true;
      do {
        const name = this.identifier();
        const columns = this.isOp('(') ? this.columnAliases() : [];
        this.expectWord('AS');
        this.expectOp('(');
        const body = this.query();
        this.expectOp(')');
        // Added after its body: a CTE that names itself reads a table, which is refused, not itself.
        scope.add(name.toLowerCase());
        children.push(node('cte', [body, ...columns], name.toLowerCase()));
      } while (this.acceptOp(','));
    }
    try {
      children.push(this.queryNoWith());
    } finally {
      if (scoped) this.scopes.pop();
    }
    this.leave();
    return node('query', children);
  }

  private columnAliases(): SqlNode[] {
    this.expectOp('(');
    const names = this.list(() => node('column', [], this.identifier().toLowerCase()));
    this.expectOp(')');
    return names;
  }

  private queryNoWith(): SqlNode {
    const children = [this.unionTerm()];
    if (this.acceptWord('ORDER')) {
      this.expectWord('BY');
      children.push(node('orderBy', this.list(() => this.sortItem())));
    }
    if (this.acceptWord('OFFSET')) {
      children.push(node('offset', [this.rowCount()]));
      if (!this.acceptWord('ROW')) this.acceptWord('ROWS');
    }
    if (this.acceptWord('LIMIT')) {
      children.push(node('limit', this.acceptWord('ALL') ? [node('all')] : [this.rowCount()]));
    } else if (this.acceptWord('FETCH')) {
      if (!this.acceptWord('FIRST')) this.expectWord('NEXT');
      const count = this.peek().kind === 'integer' || this.peek().kind === 'parameter' ? [this.rowCount()] : [];
      if (!this.acceptWord('ROW')) this.expectWord('ROWS');
      if (this.acceptWord('WITH')) this.expectWord('TIES');
      else this.expectWord('ONLY');
      children.push(node('fetch', count));
    }
    return node('queryNoWith', children);
  }

  private rowCount(): SqlNode {
    const token = this.peek();
    if (token.kind === 'integer') {
      this.pos++;
      return node('integer', [], token.text);
    }
    // QueryParameters are bound as string literals, which no row count accepts.
    if (token.kind === 'parameter') this.refuse('A parameter marker (?) cannot be a row count');
    this.fail('expected a row count');
  }

  private parameter(): SqlNode {
    this.parameters.push(this.pos);
    this.pos++;
    return node('parameter');
  }

  private setQuantifier(): string | undefined {
    if (this.acceptWord('DISTINCT')) return 'distinct';
    if (this.acceptWord('ALL')) return 'all';
    return undefined;
  }

  // UNION and EXCEPT bind looser than INTERSECT, as in SqlBase.g4.
  private unionTerm(): SqlNode {
    let left = this.intersectTerm();
    while (this.isWord('UNION') || this.isWord('EXCEPT')) {
      const op = this.next().value.toLowerCase();
      const quantifier = this.setQuantifier() ?? 'distinct';
      left = node(`${op} ${quantifier}`, [left, this.intersectTerm()]);
    }
    return left;
  }

  private intersectTerm(): SqlNode {
    let left = this.queryPrimary();
    while (this.acceptWord('INTERSECT')) {
      const quantifier = this.setQuantifier() ?? 'distinct';
      left = node(`intersect ${quantifier}`, [left, this.queryPrimary()]);
    }
    return left;
  }

  private queryPrimary(): SqlNode {
    if (this.isWord('SELECT')) return this.querySpecification();
    if (this.isWord('VALUES')) {
      this.pos++;
      return node('values', this.list(() => this.expression()));
    }
    if (this.isWord('TABLE')) {
      if (this.isOp('(', 1)) this.refuse('Table functions are not allowed');
      this.pos++;
      return this.tableReference();
    }
    if (this.isOp('(')) {
      this.pos++;
      const inner = this.query();
      this.expectOp(')');
      return inner;
    }
    this.fail('expected SELECT');
  }

  private querySpecification(): SqlNode {
    this.expectWord('SELECT');
    const children: SqlNode[] = [];
    const quantifier = this.setQuantifier();
    if (quantifier !== undefined) children.push(node(quantifier));
    children.push(node('select', this.list(() => this.selectItem())));
    const tablesBefore = this.tables.length;
    let from: SqlNode | undefined;
    if (this.acceptWord('FROM')) children.push((from = node('from', this.list(() => this.relation()))));
    // One relation, the one table reference it holds a store (not a CTE): eventTime and the day
    // partition column of a WHERE here can only be that table's.
    const overOneStore = from?.children.length === 1 && this.tables.length === tablesBefore + 1 && !this.tables[tablesBefore]!.cte ? storeAlias(from.children[0]!) : undefined;
    if (this.acceptWord('WHERE')) {
      const start = this.pos;
      const where = this.expression();
      children.push(node('where', [where]));
      const bounds = overOneStore && eventTimeDays(where, overOneStore.alias);
      if (bounds) this.dayBounds.push({ from: start, to: this.pos, ...bounds });
    }
    if (this.acceptWord('GROUP')) {
      this.expectWord('BY');
      const groupQuantifier = this.setQuantifier();
      children.push(node('groupBy', this.list(() => this.groupingElement()), groupQuantifier));
    }
    if (this.acceptWord('HAVING')) children.push(node('having', [this.expression()]));
    if (this.acceptWord('WINDOW')) {
      children.push(
        node(
          'window',
          this.list(() => {
            const name = this.identifier();
            this.expectWord('AS');
            this.expectOp('(');
            const spec = this.windowSpecification();
            this.expectOp(')');
            return node('windowDefinition', [spec], name.toLowerCase());
          }),
        ),
      );
    }
    return node('querySpecification', children);
  }

  private selectItem(): SqlNode {
    if (this.acceptOp('*')) return node('allColumns');
    // `t.*` / `a.b.*`: a run of identifier-dot pairs ending in `*` (scan bounded by the run itself).
    let k = 0;
    while (this.isIdentifier(k) && this.isOp('.', k + 1)) k += 2;
    if (k > 0 && this.isOp('*', k)) {
      const parts: string[] = [];
      for (let i = 0; i < k; i += 2) {
        parts.push(this.identifier().toLowerCase());
        this.expectOp('.');
      }
      this.expectOp('*');
      const columns = this.acceptWord('AS') ? this.columnAliases() : [];
      return node('allColumns', columns, parts.join('.'));
    }
    const expression = this.expression();
    if (this.acceptWord('AS')) return node('alias', [expression], this.identifier().toLowerCase());
    if (this.isImplicitAlias()) return node('alias', [expression], this.identifier().toLowerCase());
    return expression;
  }

  private groupingElement(): SqlNode {
    if (this.isWord('ROLLUP') || this.isWord('CUBE')) {
      const kind = this.next().value.toLowerCase();
      this.expectOp('(');
      const items = this.isOp(')') ? [] : this.list(() => this.expression());
      this.expectOp(')');
      return node(kind, items);
    }
    if (this.isWord('GROUPING') && this.isWord('SETS', 1)) {
      this.pos += 2;
      this.expectOp('(');
      const sets = this.list(() => {
        if (!this.acceptOp('(')) return node('groupingSet', [this.expression()]);
        const items = this.isOp(')') ? [] : this.list(() => this.expression());
        this.expectOp(')');
        return node('groupingSet', items);
      });
      this.expectOp(')');
      return node('groupingSets', sets);
    }
    return this.expression();
  }

  private sortItem(): SqlNode {
    const children = [this.expression()];
    let order = 'asc';
    if (this.acceptWord('DESC')) order = 'desc';
    else this.acceptWord('ASC');
    let nulls = '';
    if (this.acceptWord('NULLS')) {
      if (this.acceptWord('FIRST')) nulls = ' nulls first';
      else {
        this.expectWord('LAST');
        nulls = ' nulls last';
      }
    }
    return node('sortItem', children, order + nulls);
  }

  // ---- relations ----

  private relation(): SqlNode {
    this.enter();
    let left = this.sampledRelation();
    while (true) {
      if (this.isWord('CROSS')) {
        this.pos++;
        this.expectWord('JOIN');
        left = node('crossJoin', [left, this.sampledRelation()]);
        continue;
      }
      if (this.isWord('NATURAL')) this.refuse('NATURAL JOIN is not supported');
      let type: string | undefined;
      if (this.acceptWord('JOIN')) type = 'inner';
      else if (this.isWord('INNER') && this.isWord('JOIN', 1)) {
        this.pos += 2;
        type = 'inner';
      } else if (this.isWord('LEFT') || this.isWord('RIGHT') || this.isWord('FULL')) {
        type = this.next().value.toLowerCase();
        this.acceptWord('OUTER');
        this.expectWord('JOIN');
      }
      if (type === undefined) break;
      const right = this.sampledRelation();
      let criteria: SqlNode;
      if (this.acceptWord('ON')) criteria = node('on', [this.expression()]);
      else if (this.acceptWord('USING')) {
        this.expectOp('(');
        criteria = node('using', this.list(() => node('column', [], this.identifier().toLowerCase())));
        this.expectOp(')');
      } else this.fail('expected ON or USING');
      left = node(`${type}Join`, [left, right, criteria]);
    }
    this.leave();
    return left;
  }

  private sampledRelation(): SqlNode {
    const relation = this.aliasedRelation();
    if (this.isWord('MATCH_RECOGNIZE')) this.refuse('MATCH_RECOGNIZE is not supported');
    if (!this.acceptWord('TABLESAMPLE')) return relation;
    if (!this.acceptWord('BERNOULLI')) this.expectWord('SYSTEM');
    this.expectOp('(');
    const percentage = this.expression();
    this.expectOp(')');
    return node('tablesample', [relation, percentage]);
  }

  private aliasedRelation(): SqlNode {
    const primary = this.relationPrimary();
    let alias: string | undefined;
    if (this.acceptWord('AS')) alias = this.identifier();
    else if (this.isImplicitAlias()) alias = this.identifier();
    if (alias === undefined) return primary;
    const columns = this.isOp('(') ? this.columnAliases() : [];
    return node('aliased', [primary, ...columns], alias.toLowerCase());
  }

  private relationPrimary(): SqlNode {
    if (this.peek().kind === 'storeId') return this.tableReference();
    // LATERAL is not reserved: it is a table name unless a subquery follows.
    if (this.isIdentifier() && !(this.isWord('LATERAL') && this.isOp('(', 1))) return this.tableReference();
    if (this.isWord('TABLE') || this.isWord('JSON_TABLE')) this.refuse('Table functions are not allowed');
    if (this.isWord('UNNEST')) {
      this.pos++;
      this.expectOp('(');
      const items = this.list(() => this.expression());
      this.expectOp(')');
      const ordinality = this.acceptWord('WITH');
      if (ordinality) this.expectWord('ORDINALITY');
      return node(ordinality ? 'unnestWithOrdinality' : 'unnest', items);
    }
    if (this.isWord('LATERAL') && this.isOp('(', 1)) {
      this.pos += 2;
      const inner = this.query();
      this.expectOp(')');
      return node('lateral', [inner]);
    }
    if (this.isOp('(')) {
      // `(query)` or `(relation)`: decided by the first token after the run of `(`, a scan capped
      // at the depth limit so a megabyte of `(` costs one short look, not one per parenthesis.
      let k = 1;
      while (this.isOp('(', k)) {
        if (++k > this.maxDepth) this.nestTooDeep();
      }
      const first = this.peek(k);
      const isQuery = first.kind === 'identifier' && (first.value === 'SELECT' || first.value === 'WITH' || first.value === 'VALUES' || (first.value === 'TABLE' && !this.isOp('(', k + 1)));
      this.pos++;
      const inner = isQuery ? this.query() : this.relation();
      this.expectOp(')');
      return isQuery ? node('subquery', [inner]) : inner;
    }
    this.fail('expected a table');
  }

  private nestTooDeep(): never {
    throw new LakeQueryError('InvalidQueryStatementException', `Query nests deeper than ${this.maxDepth} levels`, positionOf(this.source, this.peek().start));
  }

  private tableReference(): SqlNode {
    const start = this.pos;
    const first = this.peek();
    if (first.kind === 'storeId') {
      this.pos++;
      if (this.isOp('.')) this.refuse('An event data store ID cannot be qualified', first);
      this.tables.push({ token: start, tokenCount: 1, parts: [first.text], storeIdToken: true, cte: false });
      return node('table', [], first.text.toLowerCase());
    }
    const parts = [this.identifier()];
    while (this.acceptOp('.')) parts.push(this.identifier());
    if (this.isWord('FOR')) this.refuse('Time travel (FOR ... AS OF) is not allowed');
    const name = parts.length === 1 ? parts[0]!.toLowerCase() : undefined;
    const cte = name !== undefined && this.scopes.some((scope) => scope.has(name));
    this.tables.push({ token: start, tokenCount: this.pos - start, parts, storeIdToken: false, cte });
    return node(cte ? 'cteReference' : 'table', [], parts.map((p) => p.toLowerCase()).join('.'));
  }

  // ---- expressions ----

  expression(): SqlNode {
    this.enter();
    const result = this.or();
    this.leave();
    return result;
  }

  private or(): SqlNode {
    let left = this.and();
    while (this.acceptWord('OR')) left = node('or', [left, this.and()]);
    return left;
  }

  private and(): SqlNode {
    let left = this.not();
    while (this.acceptWord('AND')) left = node('and', [left, this.not()]);
    return left;
  }

  private not(): SqlNode {
    if (this.acceptWord('NOT')) return node('not', [this.nested(() => this.not())]);
    return this.predicate();
  }

  private predicate(): SqlNode {
    const leftStart = this.pos;
    const left = this.valueExpression();
    const leftEnd = this.pos;
    const token = this.peek();
    if (token.kind === 'operator' && COMPARISON.has(token.value)) {
      this.pos++;
      const op = token.value === '!=' ? '<>' : token.value;
      if ((this.isWord('ALL') || this.isWord('ANY') || this.isWord('SOME')) && this.isOp('(', 1)) {
        const quantifier = this.next().value.toLowerCase();
        this.expectOp('(');
        const sub = this.query();
        this.expectOp(')');
        return node(`${op} ${quantifier}`, [left, sub]);
      }
      const rightStart = this.pos;
      const right = this.valueExpression();
      this.noteTimeLiteral(right, left, leftStart, leftEnd);
      this.noteTimeLiteral(left, right, rightStart, this.pos);
      return node(op, [left, right]);
    }
    const negated = this.isWord('NOT') && (this.isWord('BETWEEN', 1) || this.isWord('IN', 1) || this.isWord('LIKE', 1));
    if (negated) this.pos++;
    const prefix = negated ? 'not ' : '';
    if (this.acceptWord('BETWEEN')) {
      const lowStart = this.pos;
      const low = this.valueExpression();
      this.noteTimeLiteral(left, low, lowStart, this.pos);
      this.expectWord('AND');
      const highStart = this.pos;
      const high = this.valueExpression();
      this.noteTimeLiteral(left, high, highStart, this.pos);
      return node(`${prefix}between`, [left, low, high]);
    }
    if (this.acceptWord('IN')) {
      this.expectOp('(');
      let result: SqlNode;
      if (this.isWord('SELECT') || this.isWord('WITH') || this.isWord('VALUES')) result = node(`${prefix}inSubquery`, [left, this.query()]);
      else result = node(`${prefix}in`, [left, ...this.list(() => this.expression())]);
      this.expectOp(')');
      return result;
    }
    if (this.acceptWord('LIKE')) {
      const children = [left, this.valueExpression()];
      if (this.acceptWord('ESCAPE')) children.push(this.valueExpression());
      return node(`${prefix}like`, children);
    }
    if (negated) this.fail('expected BETWEEN, IN or LIKE');
    if (this.acceptWord('IS')) {
      const not = this.acceptWord('NOT') ? 'not ' : '';
      if (this.acceptWord('NULL')) return node(`is ${not}null`, [left]);
      if (this.acceptWord('DISTINCT')) {
        this.expectWord('FROM');
        return node(`is ${not}distinct from`, [left, this.valueExpression()]);
      }
      this.fail('expected NULL or DISTINCT FROM');
    }
    return left;
  }

  /** Records `literal` (tokens from..to) when it is one plain string token compared with the eventTime column. */
  private noteTimeLiteral(column: SqlNode, literal: SqlNode, from: number, to: number): void {
    const isEventTime = (column.kind === 'identifier' || column.kind === 'dereference') && column.value === 'eventtime';
    if (isEventTime && literal.kind === 'string' && to === from + 1 && this.tokens.at(from).kind === 'string') this.timeLiterals.push(from);
  }

  private valueExpression(): SqlNode {
    let left = this.additive();
    while (this.acceptOp('||')) left = node('||', [left, this.additive()]);
    return left;
  }

  private additive(): SqlNode {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().value;
      left = node(op, [left, this.multiplicative()]);
    }
    return left;
  }

  private multiplicative(): SqlNode {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next().value;
      left = node(op, [left, this.unary()]);
    }
    return left;
  }

  private unary(): SqlNode {
    if (this.isOp('-') || this.isOp('+')) {
      const op = this.next().value;
      return node(`unary${op}`, [this.nested(() => this.unary())]);
    }
    let value = this.primary();
    while (this.isWord('AT') && this.isWord('TIME', 1) && this.isWord('ZONE', 2)) {
      this.pos += 3;
      const zone = this.isWord('INTERVAL') ? this.interval() : this.stringLiteral();
      value = node('atTimeZone', [value, zone]);
    }
    return value;
  }

  private stringLiteral(): SqlNode {
    const token = this.peek();
    if (token.kind !== 'string' && token.kind !== 'unicodeString') this.fail('expected a string literal');
    if (token.kind === 'string' && token.value === '?') this.quotedParameters.push(this.pos);
    this.pos++;
    if (token.kind === 'unicodeString' && this.acceptWord('UESCAPE')) {
      const escape = this.peek();
      if (escape.kind !== 'string') this.fail('expected a string literal');
      this.pos++;
    }
    return node('string', [], token.value);
  }

  private primary(): SqlNode {
    let value = this.primaryBase();
    while (true) {
      if (this.acceptOp('[')) {
        const index = this.nested(() => this.valueExpression());
        this.expectOp(']');
        value = node('subscript', [value, index]);
      } else if (this.isOp('.') && !this.isOp('*', 1)) {
        this.pos++;
        value = node('dereference', [value], this.identifier().toLowerCase());
      } else break;
    }
    return value;
  }

  /** A value inside a special form's parentheses (EXTRACT, TRIM…): one level deeper, like an argument. */
  private nestedValue(): SqlNode {
    return this.nested(() => this.valueExpression());
  }

  private primaryBase(): SqlNode {
    const token = this.peek();
    switch (token.kind) {
      case 'parameter':
        return this.parameter();
      case 'string':
      case 'unicodeString':
        return this.stringLiteral();
      case 'binary':
        this.pos++;
        return node('binary', [], token.value.replaceAll(' ', '').toLowerCase());
      case 'integer':
      case 'decimal':
      case 'double':
        this.pos++;
        return node(token.kind, [], token.text.toLowerCase());
      case 'storeId':
        return this.refuse('An event data store ID can only be used as a table in FROM');
      case 'operator':
        if (token.value === '(') return this.parenthesized();
        break;
      case 'quotedIdentifier':
        return this.name();
      case 'identifier':
        return this.word(token);
      case 'eof':
        break;
    }
    this.fail('expected an expression');
  }

  /** `(expr)`, a row `(a, b)`, a subquery `(SELECT …)` or a lambda `(x, y) -> …`. */
  private parenthesized(): SqlNode {
    if (this.isLambda()) {
      this.pos++;
      const params = this.isOp(')') ? [] : this.list(() => node('param', [], this.identifier().toLowerCase()));
      this.expectOp(')');
      this.expectOp('->');
      return node('lambda', [...params, this.expression()]);
    }
    this.pos++;
    if (this.isWord('SELECT') || this.isWord('WITH') || this.isWord('VALUES')) {
      const sub = this.query();
      this.expectOp(')');
      return node('subquery', [sub]);
    }
    const items = this.list(() => this.expression());
    this.expectOp(')');
    return items.length === 1 ? items[0]! : node('row', items);
  }

  /** At `(`: does `( [name {, name}] ) ->` follow? One scan that stops at the first other token. */
  private isLambda(): boolean {
    let k = 1;
    if (this.isOp(')', k)) return this.isOp('->', k + 1);
    while (this.isIdentifier(k)) {
      k++;
      if (this.isOp(')', k)) return this.isOp('->', k + 1);
      if (!this.isOp(',', k)) return false;
      k++;
    }
    return false;
  }

  /** A quoted or unreserved name: column, lambda parameter, typed literal, or function call. */
  private name(): SqlNode {
    const token = this.peek();
    const name = this.identifier();
    if (this.isOp('->')) {
      this.pos++;
      return node('lambda', [node('param', [], name.toLowerCase()), this.expression()]);
    }
    if (this.isOp('(')) return this.functionCall(name.toLowerCase());
    if (this.isOp('.')) {
      // `catalog.schema.function(…)` could reach a connector's own routines: only built-ins, unqualified.
      let k = 0;
      while (this.isOp('.', k) && this.isIdentifier(k + 1)) k += 2;
      if (k > 0 && this.isOp('(', k)) this.refuse('Qualified function names are not allowed', token);
    }
    const next = this.peek();
    if (token.kind === 'identifier' && (next.kind === 'string' || next.kind === 'unicodeString')) {
      // A typed literal: DATE '2024-01-01', TIMESTAMP '…', JSON '…', any type name then a string.
      return node('typedLiteral', [this.stringLiteral()], name.toLowerCase());
    }
    return node('identifier', [], name.toLowerCase());
  }

  private word(token: Token): SqlNode {
    const word = token.value;
    switch (word) {
      case 'NULL':
        this.pos++;
        return node('null');
      case 'TRUE':
      case 'FALSE':
        this.pos++;
        return node('boolean', [], word.toLowerCase());
      case 'CASE':
        return this.caseExpression();
      case 'CAST':
        return this.cast('cast');
      case 'EXISTS': {
        this.pos++;
        this.expectOp('(');
        const sub = this.query();
        this.expectOp(')');
        return node('exists', [sub]);
      }
      case 'EXTRACT': {
        this.pos++;
        this.expectOp('(');
        const field = this.identifier().toLowerCase();
        this.expectWord('FROM');
        const from = this.nestedValue();
        this.expectOp(')');
        return node('extract', [from], field);
      }
      case 'TRIM':
        return this.trim();
      case 'NORMALIZE':
        this.pos++;
        return this.functionCall('normalize');
      case 'GROUPING': {
        this.pos++;
        this.expectOp('(');
        const items = this.isOp(')') ? [] : this.list(() => this.expression());
        this.expectOp(')');
        return node('grouping', items);
      }
      default:
        break;
    }
    if (SPECIAL_DATETIME.has(word)) {
      this.pos++;
      const children: SqlNode[] = [];
      if (word !== 'CURRENT_DATE' && this.acceptOp('(')) {
        const precision = this.peek();
        if (precision.kind !== 'integer') this.fail('expected a precision');
        this.pos++;
        children.push(node('integer', [], precision.text));
        this.expectOp(')');
      }
      return node(word.toLowerCase(), children);
    }
    if (SPECIAL_NAMES.has(word)) {
      this.pos++;
      return node(word.toLowerCase());
    }
    if (UNSUPPORTED_SYNTAX.has(word)) this.refuse(`${word} is not supported`);
    if (word === 'TRY_CAST' && this.isOp('(', 1)) return this.cast('try_cast');
    if (word === 'INTERVAL' && (this.peek(1).kind === 'string' || this.isOp('-', 1) || this.isOp('+', 1))) return this.interval();
    if (word === 'ARRAY' && this.isOp('[', 1)) {
      this.pos += 2;
      const items = this.isOp(']') ? [] : this.list(() => this.expression());
      this.expectOp(']');
      return node('array', items);
    }
    if (word === 'ROW' && this.isOp('(', 1)) {
      this.pos += 2;
      const items = this.list(() => this.expression());
      this.expectOp(')');
      return node('row', items);
    }
    if (word === 'POSITION' && this.isOp('(', 1)) {
      this.pos += 2;
      const needle = this.nestedValue();
      this.expectWord('IN');
      const haystack = this.nestedValue();
      this.expectOp(')');
      return node('position', [needle, haystack]);
    }
    if (word === 'SUBSTRING' && this.isOp('(', 1)) return this.substring();
    if (word === 'DOUBLE' && this.isWord('PRECISION', 1) && this.peek(2).kind === 'string') {
      this.pos += 2;
      return node('typedLiteral', [this.stringLiteral()], 'double');
    }
    if (RESERVED.has(word)) this.fail('unexpected keyword');
    return this.name();
  }

  private caseExpression(): SqlNode {
    this.pos++;
    const children: SqlNode[] = [];
    const simple = !this.isWord('WHEN');
    if (simple) children.push(this.expression());
    if (!this.isWord('WHEN')) this.fail('expected WHEN');
    while (this.acceptWord('WHEN')) {
      const when = this.expression();
      this.expectWord('THEN');
      children.push(node('when', [when, this.expression()]));
    }
    if (this.acceptWord('ELSE')) children.push(node('else', [this.expression()]));
    this.expectWord('END');
    return node(simple ? 'simpleCase' : 'searchedCase', children);
  }

  private cast(kind: string): SqlNode {
    this.pos++;
    this.expectOp('(');
    const value = this.expression();
    this.expectWord('AS');
    const type = this.type();
    this.expectOp(')');
    return node(kind, [value, type]);
  }

  private interval(): SqlNode {
    this.expectWord('INTERVAL');
    let sign = '';
    if (this.isOp('-') || this.isOp('+')) sign = this.next().value;
    const value = this.stringLiteral();
    const from = this.intervalField();
    const children = [value, node('field', [], from)];
    if (this.acceptWord('TO')) children.push(node('field', [], this.intervalField()));
    return node('interval', children, sign);
  }

  private intervalField(): string {
    const token = this.peek();
    if (token.kind !== 'identifier' || !INTERVAL_FIELDS.has(token.value)) this.fail('expected an interval field (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND)');
    this.pos++;
    return token.value.toLowerCase();
  }

  private trim(): SqlNode {
    this.pos++;
    this.expectOp('(');
    let spec = 'both';
    if (this.isWord('BOTH') || this.isWord('LEADING') || this.isWord('TRAILING')) spec = this.next().value.toLowerCase();
    const children: SqlNode[] = [];
    if (!this.isWord('FROM')) children.push(this.nestedValue());
    if (this.acceptWord('FROM') || this.acceptOp(',')) children.push(this.nestedValue());
    this.expectOp(')');
    return node('trim', children, spec);
  }

  private substring(): SqlNode {
    this.pos += 2;
    const children = [this.nestedValue()];
    if (this.acceptWord('FROM')) {
      children.push(this.nestedValue());
      if (this.acceptWord('FOR')) children.push(this.nestedValue());
    } else {
      while (this.acceptOp(',')) children.push(this.expression());
    }
    this.expectOp(')');
    return node('call', children, 'substring');
  }

  /** At `(` after a function name: arguments, then FILTER, null treatment and OVER. */
  private functionCall(name: string): SqlNode {
    this.expectOp('(');
    const children: SqlNode[] = [];
    let kind = 'call';
    if (this.acceptOp('*')) {
      children.push(node('allColumns'));
    } else if (this.isIdentifier() && this.isOp('.', 1) && this.isOp('*', 2)) {
      // count(t.*)
      const label = this.identifier().toLowerCase();
      this.pos += 2;
      children.push(node('allColumns', [], label));
    } else if (!this.isOp(')')) {
      const quantifier = this.setQuantifier();
      if (quantifier === 'distinct') kind = 'distinctCall';
      children.push(...this.list(() => this.expression()));
      if (this.acceptWord('ORDER')) {
        this.expectWord('BY');
        children.push(node('orderBy', this.list(() => this.sortItem())));
      }
    }
    this.expectOp(')');
    if (this.isWord('FILTER') && this.isOp('(', 1)) {
      this.pos += 2;
      this.expectWord('WHERE');
      children.push(node('filter', [this.expression()]));
      this.expectOp(')');
    }
    if ((this.isWord('IGNORE') || this.isWord('RESPECT')) && this.isWord('NULLS', 1)) {
      children.push(node(`${this.next().value.toLowerCase()} nulls`));
      this.pos++;
    }
    if (this.acceptWord('OVER')) {
      if (this.acceptOp('(')) {
        children.push(node('over', [this.windowSpecification()]));
        this.expectOp(')');
      } else children.push(node('overWindow', [], this.identifier().toLowerCase()));
    }
    return node(kind, children, name);
  }

  private windowSpecification(): SqlNode {
    return this.nested(() => {
      const children: SqlNode[] = [];
      const frameWords = ['PARTITION', 'ORDER', 'RANGE', 'ROWS', 'GROUPS'];
      if (this.isIdentifier() && !frameWords.some((w) => this.isWord(w))) children.push(node('existingWindow', [], this.identifier().toLowerCase()));
      if (this.acceptWord('PARTITION')) {
        this.expectWord('BY');
        children.push(node('partitionBy', this.list(() => this.expression())));
      }
      if (this.acceptWord('ORDER')) {
        this.expectWord('BY');
        children.push(node('orderBy', this.list(() => this.sortItem())));
      }
      if (this.isWord('RANGE') || this.isWord('ROWS') || this.isWord('GROUPS')) {
        const unit = this.next().value.toLowerCase();
        const bounds: SqlNode[] = [];
        if (this.acceptWord('BETWEEN')) {
          bounds.push(this.frameBound());
          this.expectWord('AND');
          bounds.push(this.frameBound());
        } else bounds.push(this.frameBound());
        children.push(node('frame', bounds, unit));
      }
      return node('windowSpecification', children);
    });
  }

  private frameBound(): SqlNode {
    if (this.acceptWord('UNBOUNDED')) {
      if (this.acceptWord('PRECEDING')) return node('unboundedPreceding');
      this.expectWord('FOLLOWING');
      return node('unboundedFollowing');
    }
    if (this.acceptWord('CURRENT')) {
      this.expectWord('ROW');
      return node('currentRow');
    }
    const offset = this.expression();
    if (this.acceptWord('PRECEDING')) return node('preceding', [offset]);
    this.expectWord('FOLLOWING');
    return node('following', [offset]);
  }

  // ---- types (CAST targets) ----

  private type(): SqlNode {
    return this.nested(() => {
      let type = this.baseType();
      // `varchar ARRAY`, `bigint ARRAY[3]`: SQL-standard array type suffix.
      while (this.isWord('ARRAY') && !this.isOp('(', 1) && !this.isOp('<', 1)) {
        this.pos++;
        if (this.acceptOp('[')) {
          if (this.peek().kind !== 'integer') this.fail('expected an array size');
          this.pos++;
          this.expectOp(']');
        }
        type = node('arrayType', [type]);
      }
      return type;
    });
  }

  private baseType(): SqlNode {
    const token = this.peek();
    if (token.kind === 'identifier') {
      const word = token.value;
      if ((word === 'ROW' || word === 'ARRAY' || word === 'MAP') && this.isOp('(', 1)) {
        this.pos += 2;
        const fields = this.list(() => (word === 'ROW' && this.isIdentifier() && (this.peek(1).kind === 'identifier' || this.peek(1).kind === 'quotedIdentifier') ? this.rowField() : this.type()));
        this.expectOp(')');
        return node(`${word.toLowerCase()}Type`, fields);
      }
      if ((word === 'ARRAY' || word === 'MAP') && this.isOp('<', 1)) {
        this.pos += 2;
        const parameters = [this.type()];
        if (word === 'MAP') {
          this.expectOp(',');
          parameters.push(this.type());
        }
        this.expectOp('>');
        return node(`${word.toLowerCase()}Type`, parameters);
      }
      if (word === 'INTERVAL') {
        this.pos++;
        const children = [node('field', [], this.intervalField())];
        if (this.acceptWord('TO')) children.push(node('field', [], this.intervalField()));
        return node('intervalType', children);
      }
      if (word === 'DOUBLE' && this.isWord('PRECISION', 1)) {
        this.pos += 2;
        return node('type', [], 'double');
      }
      if (word === 'TIMESTAMP' || word === 'TIME') {
        this.pos++;
        const children: SqlNode[] = [];
        if (this.acceptOp('(')) {
          children.push(this.typeParameter());
          this.expectOp(')');
        }
        let zone = '';
        if ((this.isWord('WITH') || this.isWord('WITHOUT')) && this.isWord('TIME', 1) && this.isWord('ZONE', 2)) {
          zone = this.next().value === 'WITH' ? ' with time zone' : '';
          this.pos += 2;
        }
        return node('type', children, word.toLowerCase() + zone);
      }
    }
    const name = this.identifier().toLowerCase();
    const children: SqlNode[] = [];
    if (this.acceptOp('(')) {
      children.push(...this.list(() => this.typeParameter()));
      this.expectOp(')');
    }
    return node('type', children, name);
  }

  private rowField(): SqlNode {
    const name = this.identifier().toLowerCase();
    return node('field', [this.type()], name);
  }

  private typeParameter(): SqlNode {
    const token = this.peek();
    if (token.kind === 'integer') {
      this.pos++;
      return node('integer', [], token.text);
    }
    return this.type();
  }
}
