import { OpentrailError } from '@opentrail/errors';

/**
 * The errors the query guard answers StartQuery with: the names of StartQuery's errors in
 * CloudTrail's API model (botocore/data/cloudtrail/2013-11-01/service-2.json, operation StartQuery),
 * so the API passes the code through unchanged. All are the caller's fault (HTTP 400) and never
 * worth retrying as they are.
 *
 * - InvalidQueryStatementException: not one query, a syntax error, or something the guard refuses
 *   (DDL/DML, other statements, tables that are not event data stores, table functions…).
 * - EventDataStoreNotFoundException: a store reference that does not resolve, whether unknown or not
 *   readable by the caller; the two are not told apart so that probing reveals nothing.
 * - InvalidParameterException: QueryParameters that do not fit the query or the model's limits.
 */
export type LakeQueryErrorCode = 'InvalidQueryStatementException' | 'EventDataStoreNotFoundException' | 'InvalidParameterException';

/** Where in the query text an error was found: offset in UTF-16 units, line and column from 1. */
export interface SourcePosition {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export class LakeQueryError extends OpentrailError<LakeQueryErrorCode> {
  readonly position: SourcePosition | undefined;

  constructor(code: LakeQueryErrorCode, message: string, position?: SourcePosition) {
    super(code, position === undefined ? message : `${message} at line ${position.line}, column ${position.column}`);
    this.position = position;
  }
}

export function positionOf(source: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

export function statementError(source: string, offset: number, message: string): LakeQueryError {
  return new LakeQueryError('InvalidQueryStatementException', message, positionOf(source, offset));
}
