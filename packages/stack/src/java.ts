import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Major version of a java binary, from `java -version` (printed on stderr). */
async function javaMajor(javaBin: string): Promise<number | undefined> {
  try {
    const { stderr } = await run(javaBin, ['-version']);
    const match = /version "(\d+)(?:\.(\d+))?/.exec(stderr);
    if (!match) return undefined;
    const major = Number(match[1]);
    return major === 1 ? Number(match[2]) : major;
  } catch {
    return undefined;
  }
}

/**
 * Finds a java binary of at least the given major version: $OPENTRAIL_JAVA_HOME, $JAVA_HOME, every
 * JDK under /usr/lib/jvm, then `java` on the PATH. Apicurio Registry 3.3 needs Java 21; this kind of
 * machine has Java 17 as its default and a Temurin JDK beside it.
 */
export async function findJava(minMajor: number): Promise<{ bin: string; major: number } | undefined> {
  const homes = [process.env.OPENTRAIL_JAVA_HOME, process.env.JAVA_HOME];
  if (existsSync('/usr/lib/jvm')) homes.push(...readdirSync('/usr/lib/jvm').map((d) => join('/usr/lib/jvm', d)));
  const candidates = [...homes.filter((h): h is string => !!h).map((h) => join(h, 'bin', 'java')).filter(existsSync), 'java'];
  let best: { bin: string; major: number } | undefined;
  for (const bin of candidates) {
    const major = await javaMajor(bin);
    if (major !== undefined && major >= minMajor && (!best || major > best.major)) best = { bin, major };
  }
  return best;
}
