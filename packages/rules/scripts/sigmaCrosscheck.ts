/**
 * Cross-checks opentrail's Sigma evaluator against an independent one (issue 19, class 9): pySigma
 * with its SQLite backend evaluates SigmaHQ's 57 CloudTrail rules (test/fixtures/sigmahq-cloudtrail)
 * on the same records as opentrail, every rule against every record, and every verdict is compared.
 * Records: the positive and near-miss records of test/sigmaHQCases.ts and the real CloudTrail
 * records of test/fixtures/cloudtrail-records.ndjson, each as opentrail sees it after the Avro round
 * trip. Exit code 1 on any disagreement.
 *
 * pySigma is not a project dependency; give this script a Python that has it:
 *   python3 -m venv /tmp/sigmavenv && /tmp/sigmavenv/bin/pip install pysigma==2.0.1 pysigma-backend-sqlite==2.1.1
 *   SIGMA_PYTHON=/tmp/sigmavenv/bin/python npx tsx packages/rules/scripts/sigmaCrosscheck.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { RuleEvent, RuleLibrary } from '../src/index.js';
import { ev } from '../test/events.js';
import { SIGMAHQ_CASES } from '../test/sigmaHQCases.js';

const ruleDir = fileURLToPath(new URL('../test/fixtures/sigmahq-cloudtrail/', import.meta.url));
const python = process.env.SIGMA_PYTHON ?? 'python3';
const files = readdirSync(ruleDir).filter((f) => f.endsWith('.yml')).sort();

const events: { label: string; event: RuleEvent }[] = [];
for (const [file, { match, noMatch }] of Object.entries(SIGMAHQ_CASES)) {
  match.forEach((r, i) => events.push({ label: `${file} match[${i}]`, event: ev(r) }));
  noMatch.forEach((r, i) => events.push({ label: `${file} noMatch[${i}]`, event: ev(r) }));
}
const real = readFileSync(fileURLToPath(new URL('../../../test/fixtures/cloudtrail-records.ndjson', import.meta.url)), 'utf8').trim().split('\n');
let realUsed = 0;
real.forEach((line, i) => {
  try {
    events.push({ label: `cloudtrail-records.ndjson line ${i + 1}`, event: new RuleEvent(toApiCallEvent(JSON.parse(line) as CloudTrailRecord)) });
    realUsed++;
  } catch {
    // Records the codec refuses (the fixture holds deliberately invalid ones) are not events.
  }
});

const { ruleSet, problems } = new RuleLibrary({ directories: [ruleDir] }).load();
if (problems.length > 0) throw new Error(`rules failed to load: ${JSON.stringify(problems)}`);
const ours = new Map(ruleSet.rules.map((r) => [basename(r.location.file), r]));

const work = mkdtempSync(join(tmpdir(), 'sigma-crosscheck-'));
let theirs: { rules: Record<string, number[] | { error: string }>; skipped: number[] };
try {
  const job = join(work, 'job.json');
  writeFileSync(job, JSON.stringify({ ruleDir, files, records: events.map((e) => e.event.record()) }));
  const script = fileURLToPath(new URL('./sigma_crosscheck.py', import.meta.url));
  try {
    theirs = JSON.parse(execFileSync(python, [script, job], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] })) as typeof theirs;
  } catch (err) {
    const { stderr } = err as { stderr?: string | Buffer };
    if (/No module named 'sigma'/.test(String(stderr ?? ''))) {
      console.error(`${python} has no pySigma: install pysigma and pysigma-backend-sqlite in a venv and set SIGMA_PYTHON to its python (see the top of this file)`);
      process.exit(2);
    }
    throw err;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const skipped = new Set(theirs.skipped);
let compared = 0;
let fired = 0;
const disagreements: string[] = [];
const errors: string[] = [];
for (const file of files) {
  const verdicts = theirs.rules[file];
  if (!Array.isArray(verdicts)) {
    errors.push(`${file}: pySigma could not evaluate it (${verdicts?.error ?? 'no answer'})`);
    continue;
  }
  const matched = new Set(verdicts);
  const rule = ours.get(file)!;
  events.forEach(({ label, event }, i) => {
    if (skipped.has(i)) return;
    compared++;
    const mine = rule.matches(event);
    if (mine) fired++;
    if (mine !== matched.has(i)) disagreements.push(`${file} on ${label}: opentrail ${mine ? 'fires' : 'does not fire'}, pySigma ${matched.has(i) ? 'fires' : 'does not fire'}`);
  });
}

console.log(`Sigma cross-check, opentrail vs pySigma (sqlite backend): ${files.length} SigmaHQ rules × ${events.length - skipped.size} records (${events.length - realUsed} of our own, ${realUsed - skipped.size} real CloudTrail records${skipped.size ? `; ${skipped.size} skipped, too many array combinations for the SQL table` : ''})`);
console.log(`  ${compared} verdicts compared, ${fired} of them matches; ${compared - disagreements.length} agree, ${disagreements.length} disagree; ${errors.length} rules pySigma could not evaluate`);
for (const line of [...errors, ...disagreements]) console.log(`  ${line}`);
process.exit(disagreements.length === 0 && errors.length === 0 ? 0 : 1);
