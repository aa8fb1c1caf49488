import type { IndexHint } from './indexHint.js';
import type { RuleEvent } from './ruleEvent.js';

/** The Alert schema's enums (schemas/alert.avsc). */
export type Severity = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
export type RuleKind = 'FILTER_PATTERN' | 'SIGMA' | 'THRESHOLD';
export const SEVERITIES: readonly Severity[] = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

/** Where a rule (or a problem) is: file and 1-based line and column. */
export interface RuleLocation {
  file: string;
  line: number;
  column: number;
}

export interface Detection {
  matches: (event: RuleEvent) => boolean;
  hint: IndexHint;
}

/** At least `count` matches within `windowMs` (per group) make one alert. */
export interface ThresholdSpec {
  count: number;
  windowMs: number;
}

interface DefinitionBase {
  id: string;
  /** Sigma's `name`, by which correlations may refer to a rule. */
  name?: string;
  title: string;
  description?: string;
  severity: Severity;
  tags: string[];
  location: RuleLocation;
  /** Fields whose values form the group key (dotted paths, `$.` allowed). */
  groupBy?: string[];
  /** Repeats for the same group within this long after an alert are not alerted again. */
  suppressionMs?: number;
}

/** A rule as a rule file defines it, its logic already compiled. */
export type RuleDefinition =
  | (DefinitionBase & { type: 'detection'; kind: 'FILTER_PATTERN' | 'SIGMA'; detection: Detection; threshold?: ThresholdSpec; source: string })
  | (DefinitionBase & { type: 'correlation'; rules: string[]; threshold: ThresholdSpec; generate: boolean });

export function locationText(location: RuleLocation): string {
  return `${location.file}:${location.line}:${location.column}`;
}
