/**
 * Writes src/generated/avro-types.ts from schemas/*.avsc: the TypeScript types follow from the
 * schemas, never the other way round. `npm run schemas:types` regenerates; a unit test fails when
 * the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderTypes } from './typegen.js';

const target = fileURLToPath(new URL('../src/generated/avro-types.ts', import.meta.url));
writeFileSync(target, renderTypes());
console.log(`wrote ${target}`);
