/**
 * Processes a run leaves behind if it is itself SIGKILLed (a CI job cancelled, an OOM kill): the
 * stack's servers and the services run detached in process groups of their own, so they outlive
 * it. The run writes their process ids down as it goes; the next run with the same --dir stops
 * them before it starts. Linux only (/proc): elsewhere nothing is recorded or stopped.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** The kernel's start time of a process (field 22 of /proc/PID/stat): a reused pid has another. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Writes `pid starttime` lines for the running ones among `pids`. */
export function recordProcesses(file: string, pids: Iterable<number | undefined>): void {
  const lines: string[] = [];
  for (const pid of pids) {
    const started = pid === undefined ? undefined : startTime(pid);
    if (started !== undefined) lines.push(`${pid} ${started}`);
  }
  try {
    writeFileSync(file, `${lines.join('\n')}\n`);
  } catch {
    /* the directory is being removed: nothing left to record */
  }
}

/** SIGKILLs the process group of each recorded process that is still the same process. Returns how many. */
export function stopLeftovers(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 0;
  }
  let stopped = 0;
  for (const line of text.split('\n')) {
    const [pidText, started] = line.split(' ');
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 1 || started === undefined || startTime(pid) !== started) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        continue;
      }
    }
    stopped++;
  }
  return stopped;
}
