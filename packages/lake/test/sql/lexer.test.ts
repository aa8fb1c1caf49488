import { describe, expect, it } from 'vitest';
import { LakeQueryError } from '../../src/index.js';
import { stringLiteral, tokenize } from '../../src/sql/lexer.js';

const kinds = (sql: string) => tokenize(sql).map((t) => `${t.kind}:${t.value}`);

describe('lexer', () => {
  it('reads a bare event data store ID as one token, and arithmetic on numbers as arithmetic', () => {
    expect(kinds('FROM 0233062e-51e6-4d18-8fec-4d6ae1a8cd2b')).toEqual(['identifier:FROM', 'storeId:0233062e-51e6-4d18-8fec-4d6ae1a8cd2b', 'eof:']);
    expect(kinds('1-2')).toEqual(['integer:1', 'operator:-', 'integer:2', 'eof:']);
    // One character short of an ID is not an ID (and here not even valid: `4d6ae1a8cd2` starts with a digit).
    expect(() => tokenize('0233062e-51e6-4d18-8fec-4d6ae1a8cd2')).toThrow(LakeQueryError);
    expect(kinds('abcdef01-2345-6789-abcd-ef0123456789x')).toEqual(['identifier:ABCDEF01', 'operator:-', 'integer:2345', 'operator:-', 'integer:6789', 'operator:-', 'identifier:ABCD', 'operator:-', 'identifier:EF0123456789X', 'eof:']);
  });

  it('undoes doubled quotes and nothing else', () => {
    expect(tokenize(`'it''s \\n'`)[0]).toMatchObject({ kind: 'string', value: "it's \\n", text: `'it''s \\n'` });
    expect(tokenize('"a""b"')[0]).toMatchObject({ kind: 'quotedIdentifier', value: 'a"b' });
    expect(tokenize("U&'\\0041'")[0]).toMatchObject({ kind: 'unicodeString', value: '\\0041' });
    expect(tokenize("X'0a ff'")[0]).toMatchObject({ kind: 'binary', value: '0a ff' });
  });

  it('reads numbers as Trino does', () => {
    expect(kinds('1 1_000 0x1F 0o17 0b101 1.5 1. .5 1e3 1.5E-3')).toEqual(['integer:1', 'integer:1_000', 'integer:0x1F', 'integer:0o17', 'integer:0b101', 'decimal:1.5', 'decimal:1.', 'decimal:.5', 'double:1e3', 'double:1.5E-3', 'eof:']);
    expect(() => tokenize('1abc')).toThrow(/must not start with a digit/);
  });

  it('skips comments, but not comment markers inside strings, and strings inside comments', () => {
    expect(kinds("a -- x ' y\nb /* ' -- */ c '--' '/*' \"--\"")).toEqual(['identifier:A', 'identifier:B', 'identifier:C', 'string:--', 'string:/*', 'quotedIdentifier:--', 'eof:']);
    expect(kinds('a /* /* */ b')).toEqual(['identifier:A', 'identifier:B', 'eof:']);
  });

  it('refuses what Trino would not lex', () => {
    for (const bad of ['`a`', "'open", '"open', '/* open', '""', "X'zz'", 'a $ b', 'a\u00a0b', 'a \\ b', 'a ! b', 'a & b', 'a : b', 'a { b']) {
      expect(() => tokenize(bad), bad).toThrow(LakeQueryError);
    }
  });

  it('writes string literals that read back as the same value', () => {
    for (const value of ["'", "''", 'a\\', '--', '/*', '\n', '😀']) {
      const [token] = tokenize(stringLiteral(value));
      expect(token).toMatchObject({ kind: 'string', value });
    }
  });
});
