/**
 * The trees a comparison runs: this checkout ("now"), and a commit's tree with its own
 * dependencies ("before"), exported once into a cache directory and reused by later runs.
 *
 * The base tree is a `git archive` export, not `git worktree add`: it registers nothing in the
 * repository (no worktree to prune, nothing another checkout sees), and the benches only need the
 * files and their `npm ci`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Tree {
  /** "before" or "now", as the table shows it. */
  role: 'before' | 'now';
  /** The commit (abbreviated), or "working tree" for this checkout with uncommitted changes. */
  label: string;
  dir: string;
}

/** Where exported trees are kept: OPENTRAIL_BENCH_BASE_DIR, else ~/.cache/opentrail/bench-base. */
export function cacheDir(): string {
  return process.env.OPENTRAIL_BENCH_BASE_DIR ?? join(homedir(), '.cache', 'opentrail', 'bench-base');
}

export function resolveCommit(repo: string, ref: string): string {
  return execFileSync('git', ['-C', repo, 'rev-parse', '--verify', `${ref}^{commit}`], { encoding: 'utf8' }).trim();
}

/**
 * The tree of `commit`, installed: exported and `npm ci`-ed into a temporary directory first and
 * renamed into place only when the install succeeded, so an interrupted run never leaves a
 * half-installed tree that the next run would take for a good one.
 */
export function exportedTree(repo: string, commit: string, role: Tree['role'], log: (line: string) => void): Tree {
  const dir = join(cacheDir(), commit.slice(0, 12));
  const tree: Tree = { role, label: commit.slice(0, 7), dir };
  if (existsSync(join(dir, 'node_modules', '.package-lock.json'))) return tree;
  const staging = `${dir}.installing`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  log(`exporting ${commit.slice(0, 7)} into ${dir} and installing its dependencies (npm ci: a few minutes, once)`);
  const archive = spawnSync('sh', ['-c', `git -C "$0" archive "$1" | tar -x -C "$2"`, repo, commit, staging], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (archive.status !== 0) throw new Error(`git archive ${commit} failed (exit ${archive.status})`);
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: staging, stdio: ['ignore', 'ignore', 'inherit'] });
  if (install.status !== 0) throw new Error(`npm ci in the tree of ${commit} failed (exit ${install.status})`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return tree;
}

/** This checkout, labelled by its commit (and marked when it has uncommitted changes). */
export function currentTree(repo: string): Tree {
  const head = resolveCommit(repo, 'HEAD').slice(0, 7);
  const dirty = execFileSync('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
  return { role: 'now', label: dirty ? `${head}+changes` : head, dir: repo };
}
