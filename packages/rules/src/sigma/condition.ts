import { OpentrailError } from '@opentrail/errors';
import { ANY_RUN, compileGlob } from '../glob.js';

/**
 * Sigma condition expressions (sigma-rules-specification.md, "Condition"):
 *
 *   expr   := and ( 'or' and )*
 *   and    := not ( 'and' not )*
 *   not    := 'not' not | atom
 *   atom   := '(' expr ')' | quantity 'of' target | identifier
 *   quantity := '1' | 'any' | 'all' | <n>      target := 'them' | identifier pattern with '*'
 *
 * Precedence, high to low: not, and, or. `them` means every search identifier not starting with '_'.
 */
export type ConditionNode =
  | { type: 'ref'; name: string }
  | { type: 'not'; operand: ConditionNode }
  | { type: 'and' | 'or'; operands: ConditionNode[] }
  | { type: 'of'; quantity: number | 'all'; names: string[]; text: string };

export class SigmaConditionError extends OpentrailError<'INVALID_SIGMA_CONDITION'> {
  constructor(message: string) {
    super('INVALID_SIGMA_CONDITION', message);
  }
}

interface Token {
  text: string;
  at: number;
}

function tokenize(condition: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*([()]|[^\s()]+)/gy;
  let match: RegExpExecArray | null;
  while ((match = re.exec(condition)) !== null) {
    if (match[1] === undefined) break;
    tokens.push({ text: match[1], at: match.index + match[0].length - match[1].length });
  }
  return tokens;
}

/** Parses a condition against the rule's search identifiers; throws SigmaConditionError with the reason. */
export function parseCondition(condition: string, identifiers: readonly string[]): ConditionNode {
  if (condition.includes('|')) {
    throw new SigmaConditionError("aggregation expressions ('| count() by …') are deprecated in Sigma and not supported: use a correlation rule (type event_count) instead");
  }
  const tokens = tokenize(condition);
  if (tokens.length === 0) throw new SigmaConditionError('the condition is empty');
  let i = 0;
  const peek = () => tokens[i]?.text.toLowerCase();
  const where = () => (tokens[i] ? `'${tokens[i]!.text}' at character ${tokens[i]!.at + 1}` : 'the end of the condition');

  const resolve = (pattern: string): string[] => {
    if (pattern.toLowerCase() === 'them') return identifiers.filter((n) => !n.startsWith('_'));
    if (!pattern.includes('*')) return identifiers.includes(pattern) ? [pattern] : [];
    const matches = compileGlob(pattern.split('*').flatMap((p, i) => (i === 0 ? [p] : [ANY_RUN, p])));
    return identifiers.filter((n) => matches(n));
  };

  const parseExpr = (): ConditionNode => {
    const operands = [parseAnd()];
    while (peek() === 'or') {
      i++;
      operands.push(parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { type: 'or', operands };
  };
  const parseAnd = (): ConditionNode => {
    const operands = [parseNot()];
    while (peek() === 'and') {
      i++;
      operands.push(parseNot());
    }
    return operands.length === 1 ? operands[0]! : { type: 'and', operands };
  };
  const parseNot = (): ConditionNode => {
    if (peek() === 'not') {
      i++;
      return { type: 'not', operand: parseNot() };
    }
    return parseAtom();
  };
  const parseAtom = (): ConditionNode => {
    const token = tokens[i];
    if (!token) throw new SigmaConditionError('the condition ends where a search identifier was expected');
    const lower = token.text.toLowerCase();
    if (lower === '(') {
      i++;
      const inner = parseExpr();
      if (peek() !== ')') throw new SigmaConditionError(`expected ')' but found ${where()}`);
      i++;
      return inner;
    }
    if (lower === ')' || lower === 'and' || lower === 'or' || lower === 'of') throw new SigmaConditionError(`expected a search identifier but found ${where()}`);
    if (tokens[i + 1]?.text.toLowerCase() === 'of') {
      let quantity: number | 'all';
      if (lower === 'all') quantity = 'all';
      else if (lower === 'any' || lower === '1') quantity = 1;
      else if (/^\d+$/.test(lower) && Number(lower) > 0) quantity = Number(lower);
      else throw new SigmaConditionError(`expected '1', 'any', 'all' or a count before 'of', found '${token.text}'`);
      i += 2;
      const target = tokens[i];
      if (!target || target.text === '(' || target.text === ')') throw new SigmaConditionError(`expected 'them' or a search identifier pattern after 'of', found ${where()}`);
      i++;
      const names = resolve(target.text);
      if (names.length === 0) throw new SigmaConditionError(`'${token.text} of ${target.text}' matches no search identifier of the detection`);
      return { type: 'of', quantity, names, text: `${token.text} of ${target.text}` };
    }
    if (token.text.includes('*')) throw new SigmaConditionError(`a wildcard identifier ('${token.text}') needs '1 of' or 'all of' in front`);
    if (!identifiers.includes(token.text)) throw new SigmaConditionError(`the condition refers to '${token.text}', which the detection does not define`);
    i++;
    return { type: 'ref', name: token.text };
  };

  const node = parseExpr();
  if (i < tokens.length) throw new SigmaConditionError(`unexpected ${where()}`);
  return node;
}
