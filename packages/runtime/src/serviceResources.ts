import type { Check } from '@opentrail/observability';
import type { Logger } from '@opentrail/observability';

/** A state of health: true, or what is wrong. A getter (the processor's `ready`) or a method (the notifier's targets). */
type Health = boolean | string | (() => boolean | string);

/**
 * Something a service opens in its start: a processor, a state table, a trail catalog. What it has
 * decides what the runtime does with it: `start` is awaited, `stop` runs when the service stops,
 * `ready` joins /readyz and `healthy` joins /healthz, under the name it was given.
 */
export interface ServiceResource {
  start?(): Promise<void>;
  stop?(): void | Promise<void>;
  readonly ready?: Health;
  readonly healthy?: Health;
}

const checkOf = (owner: ServiceResource, key: 'ready' | 'healthy'): Check => () => {
  const value = owner[key];
  return typeof value === 'function' ? value.call(owner) : (value ?? true);
};

/**
 * What one start attempt of a service opened, in the order it opened it. The service stops in
 * reverse order of creation: whatever was opened later may use what was opened earlier (a processor
 * writes to the state table it was given), never the other way round. Readiness and liveness are
 * the checks of what was opened; nothing is listed twice by hand.
 */
export class ServiceResources {
  private readonly stops: { name: string; stop: () => void | Promise<void> }[] = [];
  private readonly readiness = new Map<string, Check>();
  private readonly liveness = new Map<string, Check>();
  private readonly stopping = new AbortController();
  private stopped: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /**
   * Aborted the moment the service begins to stop, before anything is stopped: outbound retries and
   * drains give up at once instead of holding a processor's stop.
   */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Registers a resource that is open already (or needs no start). */
  own<R extends ServiceResource>(name: string, resource: R): R {
    if (resource.stop) this.onStop(name, () => resource.stop!());
    if (resource.ready !== undefined) this.ready(name, checkOf(resource, 'ready'));
    if (resource.healthy !== undefined) this.live(name, checkOf(resource, 'healthy'));
    return resource;
  }

  /** Registers a resource, then starts it: one whose start fails half-way is still stopped. */
  async start<R extends ServiceResource>(name: string, resource: R): Promise<R> {
    this.own(name, resource);
    await resource.start?.();
    return resource;
  }

  onStop(name: string, stop: () => void | Promise<void>): void {
    this.stops.push({ name, stop });
  }

  ready(name: string, check: Check): void {
    if (this.readiness.has(name)) throw new Error(`readiness check "${name}" registered twice`);
    this.readiness.set(name, check);
  }

  live(name: string, check: Check): void {
    if (this.liveness.has(name)) throw new Error(`liveness check "${name}" registered twice`);
    this.liveness.set(name, check);
  }

  get readinessChecks(): Record<string, Check> {
    return Object.fromEntries(this.readiness);
  }

  get livenessChecks(): Record<string, Check> {
    return Object.fromEntries(this.liveness);
  }

  /**
   * Aborts the signal, then stops everything in reverse order of creation. One failing stop does not
   * keep the rest open: it is logged, the others stop, and the first failure is thrown at the end.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping.abort();
      let failure: Error | undefined;
      for (const { name, stop } of [...this.stops].reverse()) {
        try {
          await stop();
        } catch (err) {
          this.logger.error({ err, resource: name }, `stopping ${name} failed`);
          failure ??= err instanceof Error ? err : new Error(String(err));
        }
      }
      if (failure !== undefined) throw failure;
    })();
    return this.stopped;
  }
}
