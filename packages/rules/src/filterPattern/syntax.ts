import { OpentrailError } from '@opentrail/errors';
import type { SelectorSegment } from '../fieldPath.js';

/**
 * The syntax tree of a CloudWatch Logs JSON filter pattern (cloudtrail-spec.md §8.1):
 *
 *   pattern    := '{' or '}'
 *   or         := and ( '||' and )*          precedence: () > && > ||
 *   and        := unit ( '&&' unit )*
 *   unit       := '(' or ')' | test
 *   test       := selector op value | selector IS (NULL | TRUE | FALSE) | selector NOT EXISTS
 *   op         := = | != | < | > | <= | >=
 *   value      := "quoted string" | %regex% | bare word (a number when it reads as one)
 *   selector   := $.step ( .step | [n] | [*] | ['key'] | .['key'] )*
 *   step       := name | * | ['key']          names: letters, digits, '-' and '_'
 *
 * `*` and `[*]` are the wildcard selector (any array element or any object member); `['key']` is the
 * bracket notation for keys with other characters, such as a period (`$.['cluster.name']`).
 * Quotas as CloudWatch documents them: one wildcard per selector, three per pattern.
 */
export type FilterNode =
  | { type: 'or'; left: FilterNode; right: FilterNode }
  | { type: 'and'; left: FilterNode; right: FilterNode }
  | FilterTest;

export type FilterTest =
  | { type: 'compare'; selector: Selector; op: ComparisonOperator; value: FilterValue; column: number }
  | { type: 'is'; selector: Selector; what: 'NULL' | 'TRUE' | 'FALSE'; column: number }
  | { type: 'notExists'; selector: Selector; column: number };

export type ComparisonOperator = '=' | '!=' | '<' | '>' | '<=' | '>=';

export interface Selector {
  text: string;
  segments: SelectorSegment[];
}

export type FilterValue =
  /** Quoted, or a bare word that is not a number; `*` is a wildcard unless escaped. */
  | { kind: 'string'; text: string; quoted: boolean; parts: StringPart[] }
  | { kind: 'number'; text: string; value: number }
  | { kind: 'regex'; source: string };

/** A string value split at its wildcards. */
export type StringPart = string | { wildcard: true };

/** A malformed pattern: what is wrong and where (1-based column within the pattern). */
export class FilterPatternError extends OpentrailError<'INVALID_FILTER_PATTERN'> {
  constructor(
    readonly reason: string,
    readonly column: number,
  ) {
    super('INVALID_FILTER_PATTERN', `${reason} (column ${column})`);
  }
}

/** CloudWatch's PutMetricFilter limit. */
export const MAX_PATTERN_LENGTH = 1024;
/** CloudWatch allows at most two regular expressions in one JSON pattern. */
export const MAX_REGEX_PER_PATTERN = 2;
/** CloudWatch: "up to one wildcard selector in a property selector". */
export const MAX_WILDCARDS_PER_SELECTOR = 1;
/** CloudWatch: "up to three wildcard selectors in a filter pattern with compound expressions". */
export const MAX_WILDCARDS_PER_PATTERN = 3;
