/**
 * When a log file closes (architecture.md, Rolling): at its size limit (checked as records arrive,
 * against the most the file could weigh compressed, see LogFile.projectedBytes), when its oldest
 * record has waited the trail's roll interval, when memory is short, on shutdown, and when its
 * trail stops, is deleted or changes (liveTrails.ts).
 */
export type RollReason = 'size' | 'age' | 'memory' | 'shutdown' | 'trail';

/** The interval counts from when the file's first record was buffered, not from its eventTime: late events do not roll files at once. */
export function shouldRollForAge(openedAtMs: number, intervalSeconds: number, nowMs: number): boolean {
  return nowMs - openedAtMs >= intervalSeconds * 1000;
}
