import { statementError } from './errors.js';

/**
 * The lexer for CloudTrail Lake SQL: Trino's lexical rules (SqlBase.g4) plus one token Trino does
 * not have, the bare event data store ID (`0233062e-51e6-4d18-8fec-4d6ae1a8cd2b`), which Lake's
 * own sample queries write unquoted in FROM. Comments and whitespace are skipped here, so nothing
 * after the lexer ever sees them: the statement Trino runs is rebuilt from these tokens alone.
 *
 * Anything Trino's lexer would not accept is refused here rather than guessed at (backquotes,
 * identifiers starting with a digit, characters outside the grammar), so the guard and Trino never
 * read the same text as different tokens.
 */
export type TokenKind =
  | 'identifier' // a word: keyword or unquoted identifier (Trino decides which by position)
  | 'quotedIdentifier'
  | 'string'
  | 'unicodeString'
  | 'binary'
  | 'integer'
  | 'decimal'
  | 'double'
  | 'storeId'
  | 'operator'
  | 'parameter'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The token's text as written, the only thing ever copied into the output statement. */
  readonly text: string;
  /** Identifiers: the name (unquoted, `""` undone); strings: the content (`''` undone); words: upper case. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

// Longest first, so `<=` is never read as `<` then `=`.
const OPERATORS = ['->', '=>', '||', '<=', '>=', '<>', '!=', '=', '<', '>', '+', '-', '*', '/', '%', ',', '(', ')', '[', ']', '.', ';'];

const STORE_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![a-z0-9_])/iy;
const WORD = /[a-z_][a-z0-9_]*/iy;
const HEX_INTEGER = /0x(?:_?[0-9a-f])+/iy;
const OCTAL_INTEGER = /0o(?:_?[0-7])+/iy;
const BINARY_INTEGER = /0b(?:_?[01])+/iy;
const DOUBLE = /(?:\d+(?:\.\d*)?|\.\d+)e[+-]?\d+/iy;
const DECIMAL = /\d(?:_?\d)*\.(?:\d(?:_?\d)*)?|\.\d(?:_?\d)*/y;
const INTEGER = /\d(?:_?\d)*/y;
const WORD_CHAR = /[a-z0-9_]/i;

function match(pattern: RegExp, source: string, at: number): string | undefined {
  pattern.lastIndex = at;
  const m = pattern.exec(source);
  return m === null ? undefined : m[0];
}

/**
 * Tokens on demand, so the parser reads only as far as it gets: a megabyte of `(` fails at the depth
 * limit after a few dozen tokens instead of after lexing all of them.
 */
export class TokenStream {
  private readonly tokens: Token[] = [];
  private offset = 0;

  constructor(readonly source: string) {}

  /** The token at `index`, or the end token past the last one. */
  at(index: number): Token {
    while (this.tokens.length <= index) {
      const last = this.tokens[this.tokens.length - 1];
      if (last !== undefined && last.kind === 'eof') return last;
      this.tokens.push(this.lex());
    }
    return this.tokens[index]!;
  }

  /** Every token up to and including the end token. */
  all(): readonly Token[] {
    let i = this.tokens.length;
    while (this.at(i).kind !== 'eof') i++;
    return this.tokens;
  }

  private lex(): Token {
    const source = this.source;
    const length = source.length;
    let i = this.offset;
    const token = (kind: TokenKind, start: number, end: number, value: string): Token => {
      this.offset = end;
      return { kind, text: source.slice(start, end), value, start, end };
    };

    while (i < length) {
      const c = source[i]!;
      // Trino's WS rule: space, tab, CR, LF; other white space is a token recognition error there too.
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        i++;
        continue;
      }
      if (c === '-' && source[i + 1] === '-') {
        while (i < length && source[i] !== '\n' && source[i] !== '\r') i++;
        continue;
      }
      if (c === '/' && source[i + 1] === '*') {
        // Trino's bracketed comments do not nest: the first `*/` ends it.
        const close = source.indexOf('*/', i + 2);
        if (close < 0) throw statementError(source, i, 'Unterminated comment');
        i = close + 2;
        continue;
      }

      const start = i;
      const storeId = match(STORE_ID, source, i);
      if (storeId !== undefined) return token('storeId', i, i + storeId.length, storeId);

      if (c === "'") {
        const [end, value] = quoted(source, i, "'", 'string literal');
        return token('string', start, end, value);
      }
      if ((c === 'U' || c === 'u') && source[i + 1] === '&' && source[i + 2] === "'") {
        const [end, value] = quoted(source, i + 2, "'", 'string literal');
        return token('unicodeString', start, end, value);
      }
      if ((c === 'X' || c === 'x') && source[i + 1] === "'") {
        const [end, value] = quoted(source, i + 1, "'", 'binary literal');
        if (!/^[0-9a-f ]*$/i.test(value)) throw statementError(source, start, 'Binary literal can only contain hexadecimal digits');
        return token('binary', start, end, value);
      }
      if (c === '"') {
        const [end, value] = quoted(source, i, '"', 'quoted identifier');
        if (value.length === 0) throw statementError(source, start, 'Zero-length delimited identifier not allowed');
        return token('quotedIdentifier', start, end, value);
      }
      if (c === '`') throw statementError(source, start, 'Backquoted identifiers are not supported; use double quotes to quote identifiers');

      const word = match(WORD, source, i);
      if (word !== undefined) return token('identifier', i, i + word.length, word.toUpperCase());

      if ((c >= '0' && c <= '9') || (c === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
        let kind: TokenKind = 'integer';
        let text = match(HEX_INTEGER, source, i) ?? match(OCTAL_INTEGER, source, i) ?? match(BINARY_INTEGER, source, i);
        if (text === undefined) {
          text = match(DOUBLE, source, i);
          kind = 'double';
        }
        if (text === undefined) {
          text = match(DECIMAL, source, i);
          kind = 'decimal';
        }
        if (text === undefined) {
          text = match(INTEGER, source, i) ?? c;
          kind = 'integer';
        }
        const after = source[i + text.length];
        // Trino's DIGIT_IDENTIFIER: `123abc` is an error, not a number followed by an alias.
        if (after !== undefined && WORD_CHAR.test(after)) throw statementError(source, start, 'Identifiers must not start with a digit; surround the identifier with double quotes');
        return token(kind, i, i + text.length, text);
      }

      if (c === '?') return token('parameter', i, i + 1, '?');
      const operator = OPERATORS.find((op) => source.startsWith(op, i));
      if (operator !== undefined) return token('operator', i, i + operator.length, operator);
      throw statementError(source, start, `Unexpected character ${JSON.stringify(c)}`);
    }
    return token('eof', length, length, '');
  }
}

export function tokenize(source: string): Token[] {
  return [...new TokenStream(source).all()];
}

/** A quoted token from `open` (the opening quote); the doubled quote is its only escape. */
function quoted(source: string, open: number, quote: string, what: string): [end: number, value: string] {
  let value = '';
  let i = open + 1;
  while (true) {
    const close = source.indexOf(quote, i);
    if (close < 0) throw statementError(source, open, `Unterminated ${what}`);
    value += source.slice(i, close);
    if (source[close + 1] === quote) {
      value += quote;
      i = close + 2;
      continue;
    }
    return [close + 1, value];
  }
}

/** A string as a Trino string literal: quotes doubled, nothing else needs (or has) an escape. */
export function stringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
