import { toTypeScript } from '@ovotech/avro-ts';
import { loadSchemas, type SchemaName } from '../src/schemas.js';

const HEADER = `// Generated from schemas/*.avsc by \`npm run schemas:types\`. Do not edit.\n/* eslint-disable */\n`;

/** TypeScript declarations for every schema, each named type once, with short aliases. */
export function renderTypes(): string {
  const schemas = loadSchemas();
  const declarations = new Map<string, string>();
  for (const { canonical } of Object.values(schemas)) {
    const source = toTypeScript(JSON.parse(canonical) as Parameters<typeof toTypeScript>[0]);
    // Split the generated module into its top-level declarations and keep each name once.
    for (const block of source.split(/\n(?=export )/)) {
      const name = /^export (?:interface|type) (\w+)/.exec(block.trim())?.[1];
      if (name && name !== 'AvroType' && !declarations.has(name)) declarations.set(name, block.trim());
    }
  }
  const aliases = [...declarations.keys()]
    .filter((n) => n.startsWith('DevOpentrail'))
    .map((n) => `export type ${n.slice('DevOpentrail'.length)} = ${n};`);
  const names = Object.keys(schemas) as SchemaName[];
  return `${HEADER}\n${[...declarations.values()].join('\n\n')}\n\n${aliases.join('\n')}\n\n/** Value type of each top-level schema. */\nexport interface SchemaTypes {\n${names.map((n) => `  ${n}: ${n};`).join('\n')}\n}\n`;
}
