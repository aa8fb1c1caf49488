/**
 * What the kernel counts for a process (Linux /proc): CPU time and peak resident memory. Read from
 * outside, so a service is measured as deployed, without instrumenting it.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on every Linux ABI node runs on). */
const CLOCK_TICKS = 100;

/**
 * User + system CPU seconds the process has used so far, or one of its threads when `thread` (a
 * thread id; the main thread's is the process id) is given; undefined once it is gone.
 */
export function cpuSeconds(pid: number, thread?: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of proc(5), so 11 and 12 after the state (field 3).
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Peak resident set size in bytes (VmHWM), undefined once the process is gone. */
export function peakRssBytes(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
