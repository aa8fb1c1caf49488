import type { Delivery } from '@opentrail/serde';

/**
 * Delivery lag for the console's Overview, from what the API reads of the deliveries topic: for
 * each log file, how long its oldest event waited before the file was in the bucket
 * (`deliveredAt - oldestEventTime`, cloudtrail-spec.md: CloudTrail's typical 5 minutes, 15 at most).
 */
export interface DeliveryLagSample {
  TrailName: string;
  DeliveredAt: number;
  LagSeconds: number;
  Records: number;
}

export interface DeliveryLagSummary {
  Deliveries: number;
  LatestDeliveryTime?: number;
  MedianLagSeconds?: number;
  MaxLagSeconds?: number;
  Samples: DeliveryLagSample[];
}

export class DeliveryLag {
  /** Newest last; bounded. */
  private readonly samples: DeliveryLagSample[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly capacity = 2000) {}

  add(d: Delivery): void {
    if (d.kind !== 'LOG' || d.oldestEventTime === null) return;
    // A repeat of the same delivery (same id) is the same file: count it once.
    if (this.seen.has(d.deliveryId)) return;
    this.seen.add(d.deliveryId);
    this.samples.push({ TrailName: d.trailName, DeliveredAt: d.deliveredAt / 1000, LagSeconds: Math.max(0, (d.deliveredAt - d.oldestEventTime) / 1000), Records: d.recordCount });
    this.samples.sort((a, b) => a.DeliveredAt - b.DeliveredAt);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
    // The ids only guard against a repeat of a recent delivery: forget them all now and then.
    if (this.seen.size > this.capacity * 4) this.seen.clear();
  }

  /** The deliveries made in `[startMs, endMs]`. */
  summary(startMs: number, endMs: number, maxSamples = 200): DeliveryLagSummary {
    const within = this.samples.filter((s) => s.DeliveredAt * 1000 >= startMs && s.DeliveredAt * 1000 <= endMs);
    const lags = within.map((s) => s.LagSeconds).sort((a, b) => a - b);
    const latest = within.at(-1);
    return {
      Deliveries: within.length,
      ...(latest ? { LatestDeliveryTime: latest.DeliveredAt } : {}),
      ...(lags.length ? { MedianLagSeconds: lags[Math.floor((lags.length - 1) / 2)]!, MaxLagSeconds: lags.at(-1)! } : {}),
      Samples: within.slice(-maxSamples),
    };
  }
}
