/**
 * A bench's figures as the comparison sees them: a name, a value, a unit and which way is better.
 * The extractors read what a bench prints on stdout (the text a reader sees, not an internal API),
 * so the same extractor reads the output of the tree before the change and the tree after it.
 */

export type Better = 'higher' | 'lower';

export interface Figure {
  /** Stable across both trees: the comparison pairs figures by this name. */
  name: string;
  value: number;
  unit: string;
  better: Better;
}

/** Collects figures, skipping a value a bench did not print (NaN), so a missing line is a missing figure, not a zero. */
export class FigureList {
  readonly figures: Figure[] = [];

  add(name: string, value: number | undefined, unit: string, better: Better): void {
    if (value === undefined || !Number.isFinite(value)) return;
    this.figures.push({ name, value, unit, better });
  }
}

// Linear: one digit run, an optional fraction; no nested quantifiers.
const NUMBER = /-?\d+(?:\.\d+)?/g;

/** The numbers in `text`, in order ("1,234" is read as 1 and 234: the benches print without separators). */
export function numbersIn(text: string): number[] {
  return [...text.matchAll(NUMBER)].map((m) => Number(m[0]));
}

/** The first line of `lines` that contains `label`, and the text after the label on it. */
export function afterLabel(lines: readonly string[], label: string, from = 0): { rest: string; index: number } | undefined {
  for (let i = from; i < lines.length; i++) {
    const at = lines[i]!.indexOf(label);
    if (at >= 0) return { rest: lines[i]!.slice(at + label.length), index: i };
  }
  return undefined;
}

/** The `n`-th number (0-based) after `label` on the first line that has it. */
export function numberAfter(lines: readonly string[], label: string, n = 0, from = 0): number | undefined {
  const found = afterLabel(lines, label, from);
  return found ? numbersIn(found.rest)[n] : undefined;
}

/**
 * A duration as the patterns bench prints it ("12.34 ms", "1.2 s", "3.4 h"), in milliseconds.
 * Its "≈ … years" form is an extrapolation, not a measurement: undefined.
 */
export function durationMs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?) (ms|s|h)\b/.exec(text);
  if (!m) return undefined;
  const scale = ({ ms: 1, s: 1000, h: 3_600_000 } as const)[m[2] as 'ms' | 's' | 'h'];
  return Number(m[1]) * scale;
}

/** The JSON objects a bench printed one per line (`console.log(JSON.stringify(result))`). */
export function jsonLines(lines: readonly string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) continue;
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) out.push(parsed as Record<string, unknown>);
    } catch {
      // not a result line
    }
  }
  return out;
}

export function numberField(object: Record<string, unknown>, key: string): number | undefined {
  const value = Object.hasOwn(object, key) ? object[key] : undefined;
  return typeof value === 'number' ? value : undefined;
}
