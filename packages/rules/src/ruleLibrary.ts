import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { RuleDefinition } from './rule.js';
import { parseRuleFile, type RuleFileProblem } from './ruleFile.js';
import { RuleSet, type RuleSetOptions } from './ruleSet.js';

export interface RuleLibraryOptions {
  /** Directories searched (recursively) for *.yml and *.yaml rule files. */
  directories: readonly string[];
  ruleSet?: Omit<RuleSetOptions, 'previous'>;
  /** Called after every reload that hot-reloading triggers. */
  onReload?: (update: RuleLibraryUpdate) => void;
  onWatchError?: (error: Error, directory: string) => void;
  /** Quiet time after the last change before reloading (editors write in several steps). @default 200 */
  debounceMs?: number;
}

export interface RuleLibraryUpdate {
  ruleSet: RuleSet;
  /** Every problem found in this load; files with problems keep the rules they had. */
  problems: RuleFileProblem[];
  files: number;
}

interface LoadedFile {
  text: string;
  definitions: RuleDefinition[];
}

/**
 * The rule files of some directories, loaded into a RuleSet and reloaded when they change. A file
 * that fails to parse or compile is reported (file, line, what is wrong) and keeps contributing the
 * rules of its last good version, so a mistake in an edit never switches running rules off.
 */
export class RuleLibrary {
  private current: RuleSet = RuleSet.empty();
  private readonly good = new Map<string, LoadedFile>();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RuleLibraryOptions) {}

  get ruleSet(): RuleSet {
    return this.current;
  }

  /** Reads every rule file now and swaps in the new rule set. */
  load(): RuleLibraryUpdate {
    const files = this.options.directories.flatMap(listRuleFiles);
    const present = new Set(files);
    for (const file of [...this.good.keys()]) if (!present.has(file)) this.good.delete(file);
    const problems: RuleFileProblem[] = [];
    const definitions: RuleDefinition[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        problems.push({ file, line: 1, column: 1, message: `cannot read the file: ${(err as Error).message}` });
        definitions.push(...(this.good.get(file)?.definitions ?? []));
        continue;
      }
      const cached = this.good.get(file);
      if (cached && cached.text === text) {
        definitions.push(...cached.definitions);
        continue;
      }
      const parsed = parseRuleFile(file, text);
      if (parsed.problems.length > 0) {
        problems.push(...parsed.problems);
        definitions.push(...(cached?.definitions ?? []));
      } else {
        this.good.set(file, { text, definitions: parsed.definitions });
        definitions.push(...parsed.definitions);
      }
    }
    const built = RuleSet.build(definitions, { ...this.options.ruleSet, previous: this.current });
    for (const p of built.problems) problems.push({ ...p.location, message: p.message });
    this.current = built.ruleSet;
    return { ruleSet: built.ruleSet, problems, files: files.length };
  }

  /** Reloads on every change below the directories (fs.watch, recursive). */
  watch(): void {
    for (const directory of this.options.directories) {
      try {
        const watcher = watch(directory, { recursive: true }, () => this.schedule());
        watcher.on('error', (err) => this.options.onWatchError?.(err, directory));
        this.watchers.push(watcher);
      } catch (err) {
        this.options.onWatchError?.(err as Error, directory);
      }
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const update = this.load();
      this.options.onReload?.(update);
    }, this.options.debounceMs ?? 200);
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}

function listRuleFiles(directory: string): string[] {
  let entries: string[];
  try {
    if (!statSync(directory).isDirectory()) return [directory];
    entries = readdirSync(directory, { recursive: true }) as string[];
  } catch {
    return [];
  }
  return entries
    .filter((e) => /\.ya?ml$/i.test(e) && !e.split(/[\\/]/).some((part) => part.startsWith('.')))
    .map((e) => join(directory, e))
    .sort();
}
