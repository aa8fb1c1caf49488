import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@opentrail/observability';

/** A JSON logger whose lines a test reads back, parsed. */
export function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('test', 'debug', stream), lines };
}
