import { pendingMigrations, type Migration, type Pool } from '@opentrail/history';

/**
 * /readyz for the database: reachable and migrated, as of the last probe (probed in the background,
 * so that a scrape never waits on a dead connection).
 */
export class DatabaseHealth {
  private status: true | string = 'not probed yet';
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pool: Pool,
    private readonly migrations: Migration[],
    intervalMs = 5000,
  ) {
    this.timer = setInterval(() => void this.probe(), intervalMs);
    this.timer.unref();
  }

  get ready(): true | string {
    return this.status;
  }

  async probe(): Promise<true | string> {
    try {
      const pending = await pendingMigrations(this.pool, this.migrations);
      this.status = pending.length === 0 ? true : `migrations not applied: ${pending.join(', ')}`;
    } catch (err) {
      this.status = `PostgreSQL unreachable: ${(err as Error).message}`;
    }
    return this.status;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
