import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TrailActivity } from '@opentrail/serde';
import { ActivityRecorder, activityError, TrailActivityTable } from '../src/activity.js';

const noSuchBucket = Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket', Code: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });

function recorder(intervalMs = 10_000) {
  const clock = { now: 1_000_000 };
  const sent: { key: string; value: TrailActivity }[] = [];
  const r = new ActivityRecorder({ service: 'archiver', intervalMs, now: () => clock.now, send: async (records) => void sent.push(...records) });
  return { r, clock, sent };
}

describe('activityError', () => {
  it('takes the code S3 and SNS answer, else the exception name', () => {
    expect(activityError(noSuchBucket)).toEqual({ code: 'NoSuchBucket', message: 'The specified bucket does not exist' });
    expect(activityError(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException', Code: 'NotFound' })).code).toBe('NotFound');
    expect(activityError(new TypeError('x')).code).toBe('TypeError');
    expect(activityError(new Error('plain')).code).toBe('InternalFailure');
    expect(activityError('text')).toEqual({ code: 'InternalFailure', message: 'text' });
    expect(activityError({ name: 'A'.repeat(500), message: 'm'.repeat(5000) }).message).toHaveLength(1024);
  });
});

describe('ActivityRecorder', () => {
  it('writes the first failure at once, then at most once per interval while failing, and the recovery at once', async () => {
    const { r, clock, sent } = recorder();
    r.failed('audit', 'LOG', noSuchBucket);
    await r.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ key: 'audit/LOG', value: { trailName: 'audit', kind: 'LOG', latestErrorCode: 'NoSuchBucket', latestErrorTime: 1_000_000, latestSuccessTime: null, service: 'archiver' } });
    for (let i = 0; i < 100; i++) {
      clock.now += 50;
      r.failed('audit', 'LOG', noSuchBucket);
      await r.flush();
    }
    // 5 s of failures: nothing more yet.
    expect(sent).toHaveLength(1);
    clock.now += 5_000;
    await r.flush();
    expect(sent).toHaveLength(2);
    clock.now += 1;
    r.succeeded('audit', 'LOG');
    await r.flush();
    expect(sent).toHaveLength(3);
    expect(sent[2]!.value).toMatchObject({ latestSuccessTime: clock.now, latestErrorCode: 'NoSuchBucket' });
    // Succeeding: at most once per interval, however many deliveries.
    for (let i = 0; i < 100; i++) {
      clock.now += 10;
      r.succeeded('audit', 'LOG');
      await r.flush();
    }
    expect(sent).toHaveLength(3);
    clock.now += 10_000;
    await r.flush();
    expect(sent).toHaveLength(4);
    expect(sent[3]!.value.latestSuccessTime).toBe(clock.now - 10_000);
  });

  it('keeps (trail, kind) apart, and a failed send is written again later', async () => {
    const clock = { now: 5 };
    let fail = true;
    const sent: string[] = [];
    const r = new ActivityRecorder({
      service: 'notifier',
      now: () => clock.now,
      send: async (records) => {
        if (fail) throw new Error('broker down');
        sent.push(...records.map((x) => x.key));
      },
    });
    r.failed('a-trail', 'NOTIFICATION', new Error('x'));
    r.succeeded('b-trail', 'NOTIFICATION');
    await r.flush();
    expect(sent).toEqual([]);
    fail = false;
    await r.stop();
    expect(sent.sort()).toEqual(['a-trail/NOTIFICATION', 'b-trail/NOTIFICATION']);
  });
});

describe('TrailActivityTable', () => {
  const rec = (over: Partial<TrailActivity>): TrailActivity => ({ trailName: 'audit', kind: 'LOG', latestAttemptTime: 10, latestSuccessTime: null, latestErrorTime: null, latestErrorCode: null, latestErrorMessage: null, service: 'archiver', updatedAt: 10, ...over });

  it('gives GetTrailStatus\' fields; an error shows while it is newer than the last success', () => {
    const t = new TrailActivityTable();
    expect(t.activity('audit')).toEqual({});
    t.apply('audit/LOG', rec({ latestSuccessTime: 10, latestErrorTime: 20, latestErrorCode: 'AccessDenied', latestAttemptTime: 20 }));
    t.apply('audit/DIGEST', rec({ kind: 'DIGEST', latestSuccessTime: 30 }));
    t.apply('audit/NOTIFICATION', rec({ kind: 'NOTIFICATION', latestErrorTime: 40, latestErrorCode: 'NotFound', latestAttemptTime: 40 }));
    expect(t.activity('audit')).toEqual({
      latestDeliveryTime: 10,
      latestDeliveryAttemptTime: 20,
      latestDeliveryError: 'AccessDenied',
      latestDigestDeliveryTime: 30,
      latestNotificationAttemptTime: 40,
      latestNotificationError: 'NotFound',
    });
    t.apply('audit/LOG', rec({ latestSuccessTime: 25, latestAttemptTime: 25 }));
    expect(t.activity('audit')).toMatchObject({ latestDeliveryTime: 25 });
    expect(t.activity('audit').latestDeliveryError).toBeUndefined();
    // A key that does not match its record, and a tombstone.
    t.apply('other/LOG', rec({}));
    expect(t.activity('other')).toEqual({});
    t.apply('audit/DIGEST', null);
    expect(t.activity('audit').latestDigestDeliveryTime).toBeUndefined();
  });

  it('merges several writers of one key field by field, in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ success: fc.option(fc.nat(1000)), error: fc.option(fc.nat(1000)) }), { minLength: 1, maxLength: 8 }), (writes) => {
        const records = writes.map((w, i) => rec({ latestAttemptTime: i, latestSuccessTime: w.success, latestErrorTime: w.error, latestErrorCode: w.error === null ? null : `E${w.error}` }));
        const forward = new TrailActivityTable();
        const backward = new TrailActivityTable();
        for (const r of records) forward.apply('audit/LOG', r);
        for (const r of [...records].reverse()) backward.apply('audit/LOG', r);
        const successes = writes.flatMap((w) => (w.success === null ? [] : [w.success]));
        expect(forward.activity('audit').latestDeliveryTime).toBe(successes.length ? Math.max(...successes) : undefined);
        expect(forward.record('audit', 'LOG')!.latestErrorTime).toBe(backward.record('audit', 'LOG')!.latestErrorTime);
        expect(forward.activity('audit').latestDeliveryTime).toBe(backward.activity('audit').latestDeliveryTime);
      }),
    );
  });
});
