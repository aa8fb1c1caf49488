import { RE2JS } from 're2js';
import { OpentrailError } from '@opentrail/errors';

/**
 * Regular expressions evaluated in time linear in the input (RE2 semantics, through re2js, a pure
 * JavaScript port of RE2: no native build). JavaScript's own RegExp backtracks, so a rule such as
 * `%a*a*a*a*b%` or Sigma's `|re: '(a+)+$'` against an attacker-chosen value of a few hundred
 * characters could hold the alerter for minutes (issue 19, class 7). What RE2 cannot do in linear
 * time (backreferences, lookahead, lookbehind) is refused when the rule loads, with the reason.
 */
export class RegexRefusedError extends OpentrailError<'REGEX_REFUSED'> {
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super('REGEX_REFUSED', reason);
  }
}

export interface LinearRegexFlags {
  caseInsensitive?: boolean;
  multiline?: boolean;
  dotAll?: boolean;
}

export type RegexTest = (text: string) => boolean;

/** Why RE2 refuses a construct, in words an operator can act on. */
function refusalReason(source: string, re2Message: string): string {
  const linear = 'which a linear-time (RE2) engine cannot evaluate; rewrite the expression without it';
  if (/\\[1-9]|\\k</.test(source)) return `the regular expression uses a backreference, ${linear}`;
  if (/\(\?<[=!]/.test(source)) return `the regular expression uses a lookbehind, ${linear}`;
  if (/\(\?[=!]/.test(source)) return `the regular expression uses a lookahead, ${linear}`;
  if (/\(\?>/.test(source)) return `the regular expression uses an atomic group, ${linear}`;
  if (/[*+?}][+]/.test(source)) return `the regular expression uses a possessive quantifier, ${linear}`;
  return `invalid regular expression (RE2 syntax): ${re2Message.replace(/^error parsing regexp: /, '')}`;
}

/**
 * Compiles `source` for unanchored search (like RegExp.prototype.test). Throws RegexRefusedError
 * when the expression is invalid or needs backtracking.
 */
export function compileLinearRegex(source: string, flags: LinearRegexFlags = {}): RegexTest {
  let bits = 0;
  if (flags.caseInsensitive) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.multiline) bits |= RE2JS.MULTILINE;
  if (flags.dotAll) bits |= RE2JS.DOTALL;
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, bits);
  } catch (err) {
    throw new RegexRefusedError(source, refusalReason(source, (err as Error).message));
  }
  return (text) => re.test(text);
}
