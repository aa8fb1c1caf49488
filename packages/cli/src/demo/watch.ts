/**
 * Prints what arrives on a topic of the demo as JSON lines, the Avro values decoded through the
 * registry (whatever their schema): `npx tsx packages/cli/src/demo/watch.ts opentrail.alerts`.
 * Reads from the beginning in a throw-away consumer group; Ctrl-C stops it.
 */
import { connectKafka } from '@opentrail/runtime';
import { randomBytes } from 'node:crypto';
import { createSchemaRegistry } from '@opentrail/serde';
import { endpointsFromEnv } from '@opentrail/stack';

async function watch(topic: string, fromBeginning: boolean): Promise<void> {
  const endpoints = endpointsFromEnv({ OPENTRAIL_AWS_ENDPOINT: 'unused', ...process.env });
  if (!endpoints) throw new Error('set OPENTRAIL_KAFKA_BROKERS and OPENTRAIL_SCHEMA_REGISTRY_URL (. .demo/endpoints.env)');
  const registry = createSchemaRegistry({ url: endpoints.schemaRegistryUrl });
  const kafka = connectKafka({ clientId: 'opentrail-watch', brokers: endpoints.kafkaBrokers.split(',') });
  const consumer = kafka.consumer({ groupId: `opentrail-watch-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning });
  const stop = () => void consumer.disconnect().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const value = message.value ? await registry.decode(message.value).catch((err: Error) => ({ undecodable: err.message })) : null;
      process.stdout.write(`${JSON.stringify({ partition, offset: message.offset, key: message.key?.toString() ?? null, value })}\n`);
    },
  });
}

const [topic, flag] = process.argv.slice(2);
if (!topic) {
  process.stderr.write('usage: watch.ts <topic> [--latest]\n');
  process.exit(64);
}
watch(topic, flag !== '--latest').catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
