import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { SerdeError } from './errors.js';

/** The compatibility every opentrail subject is kept at: readers of version n read version n-1. */
export const SUBJECT_COMPATIBILITY = 'BACKWARD';

/** The registry client's request methods (mappersmith resources; each answer has data()). */
interface RegistryApi {
  Subject: {
    config(args: { subject: string }): Promise<{ data(): { compatibilityLevel: string } }>;
    updateConfig(args: { subject: string; body: { compatibility: string } }): Promise<unknown>;
    register(args: { subject: string; body: { schema: string } }): Promise<{ data(): { id: number } }>;
  };
}

/**
 * The registry client's request layer. Its register() cannot be used here: it reads the subject's
 * compatibility before registering and sets it after, so an instance that reads between another
 * one's two steps sees the registry's default and refuses ("Compatibility does not match the
 * configuration (BACKWARD != NONE)"). The field is private in its typings only.
 */
function requests(registry: SchemaRegistry): RegistryApi {
  return (registry as unknown as { api: RegistryApi }).api;
}

const status = (err: unknown) => (err as { status?: number })?.status;

/** A registry answer that says nothing about the request: unreachable, 5xx, throttled. */
function unavailable(err: unknown): boolean {
  const s = status(err);
  if (s === undefined || s >= 500 || s === 408 || s === 429) return true;
  // The client reports a refused or reset connection, and a request that timed out ("Timeout (10000ms)"),
  // as status 400 with the socket error's text.
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|Timeout \(\d+ms\)/i.test((err as Error)?.message ?? '');
}

/**
 * Registers a schema under a subject with BACKWARD compatibility, idempotently under concurrency:
 * any number of instances may run it at the same moment and all get the same id, whichever wins.
 *
 * 1. The subject's compatibility is set first (the registry accepts a rule for a subject with no
 *    version yet), so a subject never exists without it. An equal setting already in place is
 *    success; losing the race to create the rule ("already exists") is success once the rule read
 *    back is the one wanted. A subject at another level (the registry's default, inherited by a
 *    subject registered before this rule existed) is set to BACKWARD: the code that writes a
 *    subject owns its rule, so every instance wants the same setting and the winner does not matter.
 * 2. Registering a schema the subject already holds returns its existing id.
 *
 * A registry that cannot be reached is retried with backoff and jitter for a few seconds (a blip, a
 * race), then reported as REGISTRY_UNAVAILABLE: retriable, so a service's start logs that it waits
 * for the registry and tries again until its deadline. An incompatible schema is refused at once.
 */
export async function registerSubjectSchema(registry: SchemaRegistry, subject: string, schema: string, options: { attempts?: number } = {}): Promise<number> {
  const api = requests(registry);
  const attempts = options.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureCompatibility(api, subject);
      return (await api.Subject.register({ subject, body: { schema } })).data().id;
    } catch (err) {
      const racing = /already exists/i.test((err as Error)?.message ?? '');
      if (!racing && !unavailable(err)) throw err;
      if (attempt >= attempts) {
        throw new SerdeError('REGISTRY_UNAVAILABLE', `registering ${subject}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      }
      const cap = Math.min(5000, 100 * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, cap / 2 + Math.random() * (cap / 2)));
    }
  }
}

async function ensureCompatibility(api: RegistryApi, subject: string): Promise<void> {
  let current: string | undefined;
  try {
    current = (await api.Subject.config({ subject })).data().compatibilityLevel.toUpperCase();
  } catch (err) {
    if (status(err) !== 404) throw err;
  }
  if (current === SUBJECT_COMPATIBILITY) return;
  try {
    await api.Subject.updateConfig({ subject, body: { compatibility: SUBJECT_COMPATIBILITY } });
  } catch (err) {
    if (!/already exists/i.test((err as Error)?.message ?? '')) throw err;
    // Another instance created the rule at the same moment: success if it holds what we wanted.
    const now = (await api.Subject.config({ subject })).data().compatibilityLevel.toUpperCase();
    if (now !== SUBJECT_COMPATIBILITY) throw err;
  }
}
