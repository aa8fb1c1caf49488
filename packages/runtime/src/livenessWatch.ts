import { evaluateChecks, type Checks } from '@opentrail/observability';

export interface LivenessWatchOptions {
  /** How often the checks are asked. */
  intervalMs: number;
  /** Failed answers in a row that make the process unhealthy for good. @default 2 */
  failuresInARow?: number;
}

export interface LivenessWatch {
  /** Resolves, once, with the failing checks' reasons when they failed failuresInARow times in a row. */
  readonly failed: Promise<string>;
  stop(): void;
}

/**
 * The service's own liveness probe. A failing /healthz means "restart me" (a consumer the Kafka
 * client gave up on, a state reader that stopped), but only a supervisor that probes it acts on it:
 * Kubernetes does, the demo's supervisor and a plain systemd unit restart only a process that exits.
 * So the service asks its checks itself and, when they keep failing, stops and exits (main() does,
 * with SERVICE_EXIT.unhealthy): a process never stays up out of its group, doing nothing.
 * Every liveness check of the runtime fails only for good, so two answers in a row are enough to
 * tell a failure from a check asked mid-change.
 */
export function watchLiveness(checks: () => Checks | undefined, options: LivenessWatchOptions): LivenessWatch {
  const needed = options.failuresInARow ?? 2;
  let inARow = 0;
  let report!: (reason: string) => void;
  const failed = new Promise<string>((resolve) => (report = resolve));
  let asking = false;
  const timer = setInterval(() => {
    if (asking) return;
    asking = true;
    void evaluateChecks(checks())
      .then(({ ok, checks: results }) => {
        inARow = ok ? 0 : inARow + 1;
        if (inARow < needed) return;
        clearInterval(timer);
        report(
          Object.entries(results)
            .filter(([, result]) => result !== 'ok')
            .map(([name, result]) => `${name}: ${result}`)
            .join('; '),
        );
      })
      .finally(() => (asking = false));
  }, options.intervalMs);
  timer.unref();
  return { failed, stop: () => clearInterval(timer) };
}
