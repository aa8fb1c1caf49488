/**
 * The one error base every opentrail package extends: the lowest layer, with no dependencies, so
 * any package (and the browser console) may import it.
 *
 * Code branches on `code` (a closed list of strings per error class) and on `canRetry`, never on
 * the message text: retry loops give up on `canRetry === false`, dead-letter headers and metric
 * labels carry the code.
 */
export interface OpentrailErrorOptions {
  cause?: unknown;
  /** Whether another attempt of the same operation can succeed. @default false */
  canRetry?: boolean;
}

export class OpentrailError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly canRetry: boolean;

  constructor(code: Code, message: string, options: OpentrailErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.canRetry = options.canRetry ?? false;
    // The subclass's own name in stack traces and logs, without each one repeating it.
    this.name = new.target.name;
  }
}
