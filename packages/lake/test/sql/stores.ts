import { checkLakeQuery, LakeQueryError, type LakeQueryCheck, type ResolvedStore } from '../../src/index.js';
import { tokenize, type Token } from '../../src/sql/lexer.js';

/** Stores for the guard's tests: two the caller may read, one that exists but is not readable. */
export const EDS = '0233062e-51e6-4d18-8fec-4d6ae1a8cd2b';
export const OTHER_EDS = 'a1b2c3d4-0000-4000-8000-00000000beef';
export const HIDDEN_EDS = 'ffffffff-1111-4222-8333-444444444444';

const readable = new Map<string, ResolvedStore>(
  [EDS, OTHER_EDS].map((id) => [id, { id, table: `lake.eds."${id.replaceAll('-', '_')}"` }]),
);

export const tableOf = (id: string): string => readable.get(id)!.table;

/** IDs are matched case-insensitively, as AWS's ARN-derived IDs are lower case but users type either. */
export function resolveStore(reference: string): ResolvedStore | undefined {
  return readable.get(reference.toLowerCase());
}

export function check(sql: string, parameters?: string[]): LakeQueryCheck {
  return checkLakeQuery(sql, { resolveStore, parameters });
}

/** The code of the LakeQueryError `run` throws; fails the test if it throws anything else or nothing. */
export function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof LakeQueryError) return error.code;
    throw error;
  }
  throw new Error('expected a LakeQueryError, got an answer');
}

export function tokensOf(sql: string): Token[] {
  return tokenize(sql).filter((t) => t.kind !== 'eof');
}
