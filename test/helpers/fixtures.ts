import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';

/** The 504 real CloudTrail records of test/fixtures (see cloudtrail-records.NOTICE.md). */
export function realRecords(): CloudTrailRecord[] {
  const file = fileURLToPath(new URL('../fixtures/cloudtrail-records.ndjson', import.meta.url));
  return readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as CloudTrailRecord);
}
