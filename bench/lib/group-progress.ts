/**
 * The progress of a consumer group made of several service processes, sampled from their /metrics:
 * how many input records the group has consumed, and how many partitions its members own. From the
 * samples: when a rebalance settled, and how long the whole group made no progress at all (with
 * eager rebalancing every member stops while the group re-forms: that pause is the rebalance's cost
 * while load flows).
 */
import type { ServiceProcess } from './service-process.js';

interface Sample {
  at: number;
  consumed: number;
  owned: number;
}

export class GroupProgress {
  readonly members: ServiceProcess[] = [];
  private readonly samples: Sample[] = [];
  /** Last values seen per member: a scrape that fails (the member is busy or starting) keeps them. */
  private readonly last = new Map<ServiceProcess, { consumed: number; owned: number }>();

  constructor(
    readonly service: string,
    private readonly partitions: number,
  ) {}

  async sample(): Promise<void> {
    await Promise.all(
      this.members.map(async (member) => {
        const metrics = await member.metrics().catch(() => undefined);
        if (metrics) this.last.set(member, { consumed: metrics.get(`opentrail_${this.service}_events_in_total`) ?? 0, owned: metrics.get(`opentrail_${this.service}_assigned_partitions`) ?? 0 });
      }),
    );
    let consumed = 0;
    let owned = 0;
    for (const member of this.members) {
      consumed += this.last.get(member)?.consumed ?? 0;
      owned += this.last.get(member)?.owned ?? 0;
    }
    this.samples.push({ at: Date.now(), consumed, owned });
  }

  /** Every partition owned, and by every member (as long as there are enough partitions to go round). */
  settled(): boolean {
    if (this.members.length === 0 || this.last.size < this.members.length) return false;
    const owned = this.members.map((m) => this.last.get(m)!.owned);
    return owned.reduce((a, b) => a + b, 0) === this.partitions && (this.members.length > this.partitions || owned.every((n) => n > 0));
  }

  /** Partitions owned per member, as last scraped, e.g. "4,4" (for messages). */
  owned(): string {
    return this.members.map((m) => this.last.get(m)?.owned ?? '?').join(',');
  }

  /** Seconds in [from, to] between two samples with no record consumed by any member. */
  stalledSeconds(from: number, to: number): number {
    let stalled = 0;
    for (let i = 1; i < this.samples.length; i++) {
      const [before, after] = [this.samples[i - 1]!, this.samples[i]!];
      if (before.at < from || after.at > to) continue;
      if (after.consumed <= before.consumed) stalled += (after.at - before.at) / 1000;
    }
    return stalled;
  }
}
