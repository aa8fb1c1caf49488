import { LakeQueryError, positionOf } from './errors.js';
import { stringLiteral, tokenize } from './lexer.js';
import { DEFAULT_MAX_DEPTH, parseLakeSql } from './parser.js';

/**
 * The query guard for StartQuery: CloudTrail Lake SQL in, the statement Trino runs out.
 *
 * The rule: only SELECT — one statement, no DDL/DML, no table but the event data stores the caller
 * may read — decided by parsing, never by string matching; QueryParameters bound, never spliced.
 * The output is rebuilt from the token stream (white space between tokens kept, each comment turned
 * into one space, a trailing `;` dropped), with each store reference replaced by the table
 * `resolveStore` names and each parameter marker by one string literal token, so nothing the caller
 * wrote reaches Trino except as the tokens the guard itself read.
 */
export interface ResolvedStore {
  /** The event data store's ID, reported in storesRead. */
  readonly id: string;
  /** The qualified Trino table holding it (e.g. `lake.eds."…"`), emitted exactly as given. */
  readonly table: string;
}

export interface CheckLakeQueryOptions {
  /**
   * StartQuery's QueryParameters, bound in order to the query's markers: each `?`, and each `'?'`
   * string literal (Lake's dashboard queries quote the marker where it stands for an eventTime).
   */
  readonly parameters?: readonly string[];
  /**
   * The store a FROM reference names (a bare or quoted ID as written, without quotes), or undefined
   * when it is unknown or the caller may not read it; both answer EventDataStoreNotFoundException.
   */
  resolveStore(reference: string): ResolvedStore | undefined;
  /** Longest accepted statement, in UTF-16 units. @default 10000 (QueryStatement's max in the API model) */
  readonly maxStatementLength?: number;
  /** Deepest nesting of expressions, subqueries and relations. @default 64 */
  readonly maxDepth?: number;
}

export interface LakeQueryCheck {
  /** What Trino runs: the query with stores and parameters bound, without comments or a trailing `;`. */
  readonly statement: string;
  /** IDs of the stores the query reads, each once, in order of first reference. */
  readonly storesRead: readonly string[];
}

/** From the API model (service-2.json): QueryStatement 1..10000, QueryParameters 1..10 of 1..1024. */
export const MAX_STATEMENT_LENGTH = 10_000;
export const MAX_QUERY_PARAMETERS = 10;
export const MAX_QUERY_PARAMETER_LENGTH = 1024;

// Lone surrogates cannot be sent to Trino as UTF-8 unchanged, and NUL is cut short by too many
// layers between here and a table scan; neither can appear in anything Lake's users mean.
const UNSENDABLE = /\p{Cs}|\0/u;
const WHITE_SPACE = /^[ \t\r\n]*$/;

export function checkLakeQuery(sql: string, options: CheckLakeQueryOptions): LakeQueryCheck {
  if (typeof sql !== 'string' || sql.length === 0) throw new LakeQueryError('InvalidQueryStatementException', 'The query statement is empty');
  const maxLength = options.maxStatementLength ?? MAX_STATEMENT_LENGTH;
  if (sql.length > maxLength) throw new LakeQueryError('InvalidQueryStatementException', `The query statement is longer than ${maxLength} characters`);
  const unsendable = UNSENDABLE.exec(sql);
  if (unsendable !== null) throw new LakeQueryError('InvalidQueryStatementException', 'The query statement contains a NUL character or an unpaired surrogate', positionOf(sql, unsendable.index));

  const parameters = options.parameters ?? [];
  checkParameters(parameters);

  const parsed = parseLakeSql(sql, { maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH });
  // Bare `?` is always a marker; a `'?'` literal is one only when QueryParameters are given, as in
  // Lake's dashboard queries (without parameters it is just the one-character string).
  const markers = parameters.length === 0 ? parsed.parameters : [...parsed.parameters, ...parsed.quotedParameters].sort((a, b) => a - b);
  if (markers.length !== parameters.length) {
    throw new LakeQueryError('InvalidParameterException', `The query has ${markers.length} parameter marker(s) (? or '?') but ${parameters.length} QueryParameters were given`);
  }

  const replacements = new Map<number, string>();
  const storesRead: string[] = [];
  const seen = new Set<string>();
  for (const reference of parsed.tables) {
    if (reference.cte) continue;
    const at = positionOf(sql, parsed.tokens[reference.token]!.start);
    if (reference.parts.length !== 1) {
      const name = reference.parts.join('.');
      throw new LakeQueryError('InvalidQueryStatementException', `Table ${JSON.stringify(name.slice(0, 200))} is not an event data store: FROM accepts only event data store IDs`, at);
    }
    const id = reference.parts[0]!;
    const store = options.resolveStore(id);
    if (store === undefined) throw new LakeQueryError('EventDataStoreNotFoundException', `Event data store ${JSON.stringify(id.slice(0, 200))} was not found`, at);
    checkTableName(store.table);
    replacements.set(reference.token, store.table);
    if (!seen.has(store.id)) {
      seen.add(store.id);
      storesRead.push(store.id);
    }
  }
  markers.forEach((token, i) => replacements.set(token, stringLiteral(parameters[i]!)));
  // Lake compares a string with eventTime as a time; Trino needs the literal typed (parser.ts timeLiterals).
  for (const token of parsed.timeLiterals) replacements.set(token, `TIMESTAMP ${replacements.get(token) ?? parsed.tokens[token]!.text}`);
  // A WHERE over one store that bounds eventTime gets the same bounds on the day partition column
  // (eventdate, the UTC day of eventtime by construction: table/row.ts), which Trino prunes day
  // folders by; eventTime alone only lets it skip row groups inside every file it opens.
  const before = new Map<number, string>();
  const after = new Map<number, string>();
  for (const { from, to, first, last } of parsed.dayBounds) {
    before.set(from, '(');
    after.set(to - 1, `)${first !== undefined ? ` AND eventdate >= '${first}'` : ''}${last !== undefined ? ` AND eventdate <= '${last}'` : ''}`);
  }

  // White space between tokens is kept so the statement stays readable in Trino's query history;
  // a gap holding a comment becomes one space, and replaced tokens always get a space either side.
  let statement = '';
  for (let i = 0; i < parsed.end; i++) {
    const token = parsed.tokens[i]!;
    if (i > 0) {
      const gap = sql.slice(parsed.tokens[i - 1]!.end, token.start);
      const spaced = replacements.has(i) || replacements.has(i - 1) || before.has(i) || after.has(i - 1);
      statement += WHITE_SPACE.test(gap) && (gap.length > 0 || !spaced) ? gap : ' ';
    }
    statement += (before.get(i) ?? '') + (replacements.get(i) ?? token.text) + (after.get(i) ?? '');
  }
  return { statement, storesRead };
}

function checkParameters(parameters: readonly string[]): void {
  if (!Array.isArray(parameters)) throw new LakeQueryError('InvalidParameterException', 'QueryParameters must be a list of strings');
  if (parameters.length > MAX_QUERY_PARAMETERS) throw new LakeQueryError('InvalidParameterException', `At most ${MAX_QUERY_PARAMETERS} QueryParameters are allowed`);
  parameters.forEach((value: unknown, i) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_QUERY_PARAMETER_LENGTH) {
      throw new LakeQueryError('InvalidParameterException', `QueryParameters[${i}] must be a string of 1 to ${MAX_QUERY_PARAMETER_LENGTH} characters`);
    }
    if (UNSENDABLE.test(value)) throw new LakeQueryError('InvalidParameterException', `QueryParameters[${i}] contains a NUL character or an unpaired surrogate`);
  });
}

/**
 * The table name comes from our own catalog, not the caller, but it is spliced into SQL: make sure it
 * is one qualified name (identifiers and dots) so a bad catalog entry fails loudly instead of
 * changing the statement's meaning.
 */
function checkTableName(table: string): void {
  let tokens;
  try {
    tokens = tokenize(table);
  } catch {
    tokens = undefined;
  }
  const ok =
    tokens !== undefined &&
    tokens.length >= 2 &&
    tokens.slice(0, -1).every((token, i) => (i % 2 === 0 ? token.kind === 'identifier' || token.kind === 'quotedIdentifier' : token.kind === 'operator' && token.value === '.')) &&
    tokens.length % 2 === 0 &&
    tokens.length - 1 === tokens.filter((t) => t.kind !== 'eof').length &&
    table.trim() === table &&
    !/--|\/\*|\s/.test(table.replace(/"(?:[^"]|"")*"/g, ''));
  if (!ok) throw new Error(`resolveStore returned ${JSON.stringify(table)}, which is not a qualified table name`);
}
