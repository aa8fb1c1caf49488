import { writeFileSync } from 'node:fs';
import { decryptLogFile, LogFileReadError } from '@opentrail/logfiles';
import { AwsClients } from '@opentrail/aws';
import { awsBindings, awsSchema, loadConfig, z } from '@opentrail/config';
import { parseCommandLine } from './commandLine.js';

const HELP = `usage: opentrail decrypt s3://bucket/key [--kms-key-id ID] [--out FILE] [--gzip]

Reads a delivered log file back whatever its encryption (SSE-S3, SSE-KMS, or client-side
envelope encryption in the S3 Encryption Client v2 layout, decrypted here with KMS) and writes
its JSON ({"Records":[...]}) to stdout or FILE. The S3/KMS endpoint and region come from
OPENTRAIL_AWS_ENDPOINT and OPENTRAIL_AWS_REGION (or the aws: section of OPENTRAIL_CONFIG_FILE);
credentials from the AWS SDK's default chain.

  --kms-key-id ID  refuse a file encrypted under any other KMS key
  --out FILE       write to FILE instead of stdout
  --gzip           write the gzip file as the archiver stored it, not its JSON
`;

/** `opentrail decrypt s3://bucket/key`: resolves to the exit code (0 ok, 1 unreadable, 2 usage). */
export async function decryptCommand(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    {
      args: argv,
      allowPositionals: true,
      options: { 'kms-key-id': { type: 'string' }, out: { type: 'string' }, gzip: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    process.stderr.write(HELP);
    return 2;
  }
  // Only the aws: section counts here; the rest of a shared configuration file is someone else's.
  const { config } = loadConfig(z.object({ aws: awsSchema.prefault({}) }), { bindings: awsBindings });
  const aws = new AwsClients(config.aws);
  try {
    const file = await decryptLogFile(aws, positionals[0]!, { kmsKeyId: values['kms-key-id'] });
    const output = values.gzip ? file.gzip : Buffer.from(file.json);
    if (values.out) writeFileSync(values.out, output);
    else process.stdout.write(output);
    process.stderr.write(`s3://${file.bucket}/${file.key}: ${file.encryption}${file.kmsKeyId ? ` (${file.kmsKeyId})` : ''}, ${file.gzip.length} bytes gzip, ${file.json.length} characters of JSON\n`);
    return 0;
  } catch (err) {
    if (err instanceof LogFileReadError) {
      process.stderr.write(`opentrail decrypt: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    aws.destroy();
  }
}

export const decrypt = {
  summary: 'read a delivered log file back (any encryption) and print its JSON',
  run: decryptCommand,
};
