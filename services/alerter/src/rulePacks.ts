import { fileURLToPath } from 'node:url';
import type { Logger } from '@opentrail/observability';
import { problemText, RuleLibrary, type RuleLibraryUpdate } from '@opentrail/rules';
import type { AlerterConfig, BuiltinPack } from './config.js';
import type { AlerterMetrics } from './metrics.js';

/** services/alerter/rules: the built-in packs, one directory each. */
export const BUILTIN_RULES_DIR = fileURLToPath(new URL('../rules/', import.meta.url));

export function builtinPackDirectory(pack: BuiltinPack): string {
  return `${BUILTIN_RULES_DIR}${pack}`;
}

/** The directories a configuration loads rules from: the chosen built-in packs, then the operator's. */
export function ruleDirectories(config: Pick<AlerterConfig, 'builtinPacks' | 'ruleDirectories'>): string[] {
  const packs = config.builtinPacks.filter((p): p is BuiltinPack => p !== 'none');
  return [...packs.map(builtinPackDirectory), ...config.ruleDirectories];
}

/**
 * Loads the rules and keeps them current: every problem is logged with its file, line and column
 * and counted, and a reload that finds problems leaves the affected files' previous rules running.
 */
export function startRuleLibrary(config: AlerterConfig, logger: Logger, metrics: AlerterMetrics): RuleLibrary {
  const directories = ruleDirectories(config);
  const report = (update: RuleLibraryUpdate, reason: 'start' | 'reload') => {
    for (const problem of update.problems) logger.error({ file: problem.file, line: problem.line, column: problem.column, problem: problem.message }, `rule file problem: ${problemText(problem)}`);
    metrics.ruleFileProblems.set(update.problems.length);
    if (reason === 'reload') metrics.ruleReloads.inc({ outcome: update.problems.length > 0 ? 'with_problems' : 'ok' });
    logger.info({ rules: update.ruleSet.size, byKind: update.ruleSet.countsByKind(), files: update.files, problems: update.problems.length, reason }, reason === 'start' ? 'rules loaded' : 'rules reloaded');
  };
  const library = new RuleLibrary({
    directories,
    ruleSet: { defaultGroupBy: config.defaultGroupBy },
    onReload: (update) => report(update, 'reload'),
    onWatchError: (err, directory) => logger.warn({ err, directory }, 'cannot watch a rule directory; its changes need a restart'),
  });
  report(library.load(), 'start');
  if (config.hotReload) library.watch();
  return library;
}
