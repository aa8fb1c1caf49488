import { compileLinearRegex, RegexRefusedError } from '../linearRegex.js';
import { ANY_MEMBER, type SelectorSegment } from '../fieldPath.js';
import {
  FilterPatternError,
  MAX_PATTERN_LENGTH,
  MAX_REGEX_PER_PATTERN,
  MAX_WILDCARDS_PER_PATTERN,
  MAX_WILDCARDS_PER_SELECTOR,
  type ComparisonOperator,
  type FilterNode,
  type FilterTest,
  type FilterValue,
  type Selector,
  type StringPart,
} from './syntax.js';

const NAME_CHAR = /[A-Za-z0-9_-]/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** Characters that end a bare (unquoted) value. */
const BARE_END = new Set([' ', '\t', '\n', '\r', '(', ')', '{', '}', '&', '|', '"']);
/**
 * What CloudWatch allows inside %regex% (its "Supported regular expressions" page): alphanumerics,
 * `: _ # = @ / ; , -`, the operators `^ $ ? [ ] { } | \ * + .`, and the space its own examples use
 * (`%^starting|^initializing|^shutting down%`).
 */
const REGEX_ALLOWED = /^[A-Za-z0-9:_#=@/;,\-^$?[\]{}|\\*+. ]$/;
const OPERATORS: readonly ComparisonOperator[] = ['!=', '<=', '>=', '=', '<', '>'];
const TEST_HELP = 'a condition such as $.eventName = "ConsoleLogin"';

/** Parses a JSON filter pattern; throws FilterPatternError naming the column and what is wrong. */
export function parseFilterPattern(pattern: string): FilterNode {
  return new Parser(pattern).parse();
}

class Parser {
  private pos = 0;
  private regexCount = 0;
  private wildcardCount = 0;

  constructor(private readonly src: string) {}

  parse(): FilterNode {
    const { src } = this;
    if (src.length > MAX_PATTERN_LENGTH) this.fail(`the pattern is ${src.length} characters; CloudWatch's limit is ${MAX_PATTERN_LENGTH}`, 0);
    this.skipSpace();
    if (this.atEnd()) this.fail('the filter pattern is empty', 0);
    if (this.peek() !== '{') this.fail(`a JSON filter pattern is wrapped in { }, found ${this.describeHere()}`);
    const open = this.pos++;
    this.skipSpace();
    if (this.peek() === '}') this.fail('the pattern holds no condition');
    const node = this.parseOr();
    this.skipSpace();
    if (this.atEnd()) this.fail(`expected '}' to close the '{' at column ${open + 1}, but the pattern ends`);
    if (this.peek() === ')') this.fail("unbalanced ')': no '(' is open here");
    if (this.peek() !== '}') this.fail(`expected '&&', '||' or '}', found ${this.describeHere()}`);
    this.pos++;
    this.skipSpace();
    if (!this.atEnd()) this.fail(`unexpected ${this.describeHere()} after the closing '}'`);
    return node;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    for (;;) {
      this.skipSpace();
      if (!this.src.startsWith('||', this.pos)) {
        if (this.peek() === '|') this.fail("'|' is not an operator: use '||'");
        return left;
      }
      this.pos += 2;
      left = { type: 'or', left, right: this.parseAnd() };
    }
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnit();
    for (;;) {
      this.skipSpace();
      if (!this.src.startsWith('&&', this.pos)) {
        if (this.peek() === '&') this.fail("'&' is not an operator: use '&&'");
        return left;
      }
      this.pos += 2;
      left = { type: 'and', left, right: this.parseUnit() };
    }
  }

  private parseUnit(): FilterNode {
    this.skipSpace();
    if (this.peek() !== '(') return this.parseTest();
    const open = this.pos++;
    this.skipSpace();
    if (this.peek() === ')') this.fail(`empty parentheses: expected ${TEST_HELP}`);
    const inner = this.parseOr();
    this.skipSpace();
    if (this.atEnd() || this.peek() === '}') this.fail(`expected ')' to close the '(' at column ${open + 1}`);
    if (this.peek() !== ')') this.fail(`expected '&&', '||' or ')', found ${this.describeHere()}`);
    this.pos++;
    return inner;
  }

  private parseTest(): FilterTest {
    this.skipSpace();
    const column = this.pos + 1;
    const c = this.peek();
    if (c !== '$') {
      if (this.atEnd()) this.fail(`expected ${TEST_HELP}, but the pattern ends`);
      if (c === '&' || c === '|') this.fail(`expected ${TEST_HELP} before '${c}${c}'`);
      if (c === ')' || c === '}') this.fail(`expected ${TEST_HELP}, found '${c}'`);
      this.fail(`expected a property selector starting with '$.', found ${this.describeHere()}`);
    }
    const selector = this.parseSelector();
    this.skipSpace();

    const word = this.peekWord();
    if (word === 'IS') {
      this.pos += 2;
      this.skipSpace();
      const what = this.peekWord();
      if (what === 'NULL' || what === 'TRUE' || what === 'FALSE') {
        this.pos += what.length;
        return { type: 'is', selector, what, column };
      }
      if (what === 'NOT') this.fail("'IS NOT' is not supported: use != to compare, or NOT EXISTS");
      this.fail(`expected NULL, TRUE or FALSE after IS, found ${this.describeHere()}`);
    }
    if (word === 'NOT') {
      this.pos += 3;
      this.skipSpace();
      if (this.peekWord() !== 'EXISTS') this.fail(`expected EXISTS after NOT, found ${this.describeHere()}`);
      this.pos += 6;
      return { type: 'notExists', selector, column };
    }
    if (word === 'EXISTS') this.fail("'EXISTS' is not supported: use NOT EXISTS, or compare the property to a value");

    if (this.src.startsWith('==', this.pos)) this.fail("'==' is not an operator: use '='");
    const op = OPERATORS.find((o) => this.src.startsWith(o, this.pos));
    if (!op) {
      if (this.peek() === '!') this.fail("expected '!=' (a lone '!' is not an operator)");
      this.fail(`expected an operator (=, !=, <, >, <=, >=, IS NULL, IS TRUE, IS FALSE or NOT EXISTS) after ${selector.text}, found ${this.describeHere()}`);
    }
    this.pos += op.length;
    const value = this.parseValue(op);
    return { type: 'compare', selector, op, value, column };
  }

  private parseSelector(): Selector {
    const start = this.pos;
    this.pos++; // $
    if (this.peek() !== '.') this.fail("a property selector starts with '$.'");
    this.pos++;
    const segments: SelectorSegment[] = [this.readStep("'$.'")];
    for (;;) {
      const c = this.peek();
      if (c === '.') {
        this.pos++;
        segments.push(this.readStep("'.'"));
      } else if (c === '[') {
        segments.push(this.readBracket());
      } else {
        break;
      }
    }
    const after = this.peek();
    if (after !== undefined && !BARE_END.has(after) && !'=!<>'.includes(after)) {
      this.fail(`'${after}' cannot appear in a property name (letters, digits, '-' and '_'; use $.['key'] for other keys)`);
    }
    const wildcards = segments.filter((s) => s === ANY_MEMBER).length;
    if (wildcards > MAX_WILDCARDS_PER_SELECTOR) this.fail(`a property selector may hold at most ${MAX_WILDCARDS_PER_SELECTOR} wildcard selector (CloudWatch's quota)`, start);
    this.wildcardCount += wildcards;
    if (this.wildcardCount > MAX_WILDCARDS_PER_PATTERN) this.fail(`a pattern may hold at most ${MAX_WILDCARDS_PER_PATTERN} wildcard selectors (CloudWatch's quota)`, start);
    return { text: this.src.slice(start, this.pos), segments };
  }

  /** A step after '$.' or '.': a name, the wildcard '*', or a bracketed key. */
  private readStep(after: string): SelectorSegment {
    if (this.peek() === '*') {
      this.pos++;
      return ANY_MEMBER;
    }
    if (this.peek() === '[') return this.readBracket();
    const name = this.readName();
    if (!name) this.fail(`expected a property name after ${after}, found ${this.describeHere()}`);
    return name;
  }

  /** `[n]`, `[*]` or `['key']`. */
  private readBracket(): SelectorSegment {
    this.pos++; // [
    let segment: SelectorSegment;
    const c = this.peek();
    if (c === '*') {
      this.pos++;
      segment = ANY_MEMBER;
    } else if (c === "'") {
      const open = this.pos++;
      const end = this.src.indexOf("'", this.pos);
      if (end < 0) this.fail(`unterminated key starting at column ${open + 1}: it ends with "'"`, open);
      segment = this.src.slice(this.pos, end);
      if (segment === '') this.fail("an empty key ['']", open);
      this.pos = end + 1;
    } else {
      const digits = /^\d+/.exec(this.src.slice(this.pos))?.[0];
      if (!digits) this.fail(`expected an array index such as [0], the wildcard [*], or a key such as ['cluster.name']; found ${this.describeHere()}`);
      this.pos += digits.length;
      segment = Number(digits);
    }
    if (this.peek() !== ']') this.fail(`expected ']' to close the bracket, found ${this.describeHere()}`);
    this.pos++;
    return segment;
  }

  private readName(): string {
    const start = this.pos;
    while (!this.atEnd() && NAME_CHAR.test(this.src[this.pos]!)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private parseValue(op: ComparisonOperator): FilterValue {
    this.skipSpace();
    const c = this.peek();
    if (c === undefined || c === ')' || c === '}' || c === '&' || c === '|') this.fail(`expected a value after '${op}'`);
    const start = this.pos;
    let value: FilterValue;
    if (c === '"') value = this.readQuoted();
    else if (c === '%') value = this.readRegex();
    else {
      while (!this.atEnd() && !BARE_END.has(this.src[this.pos]!)) this.pos++;
      const text = this.src.slice(start, this.pos);
      value = NUMBER.test(text) ? { kind: 'number', text, value: Number(text) } : { kind: 'string', text, quoted: false, parts: splitWildcards(text, false) };
    }
    if ((op === '<' || op === '>' || op === '<=' || op === '>=') && value.kind !== 'number') {
      this.fail(`'${op}' compares numbers; ${this.src.slice(start, this.pos)} is not a number`, start);
    }
    return value;
  }

  private readQuoted(): FilterValue {
    const start = this.pos++;
    let raw = '';
    for (;;) {
      if (this.atEnd()) this.fail(`unterminated string starting at column ${start + 1}`, start);
      const c = this.src[this.pos++]!;
      if (c === '"') break;
      if (c === '\\') {
        if (this.atEnd()) this.fail(`unterminated string starting at column ${start + 1}`, start);
        raw += c + this.src[this.pos++]!;
      } else {
        raw += c;
      }
    }
    return { kind: 'string', text: unescape(raw), quoted: true, parts: splitWildcards(raw, true) };
  }

  private readRegex(): FilterValue {
    const start = this.pos++;
    const end = this.src.indexOf('%', this.pos);
    if (end < 0) this.fail(`unterminated regular expression starting at column ${start + 1}: it ends with '%'`, start);
    const source = this.src.slice(this.pos, end);
    if (source === '') this.fail('the regular expression is empty', start);
    for (let i = 0; i < source.length; i++) {
      const ch = source[i]!;
      const at = this.pos + i;
      if (ch === '(' || ch === ')') this.fail("'(' and ')' are not supported in a regular expression (CloudWatch allows no subpatterns)", at);
      if (ch.charCodeAt(0) > 0x7f) this.fail('multi-byte characters are not supported in a regular expression', at);
      if (!REGEX_ALLOWED.test(ch)) this.fail(`'${ch}' is not supported in a regular expression`, at);
    }
    if (++this.regexCount > MAX_REGEX_PER_PATTERN) this.fail(`a pattern may hold at most ${MAX_REGEX_PER_PATTERN} regular expressions`, start);
    try {
      compileLinearRegex(source);
    } catch (err) {
      if (err instanceof RegexRefusedError) this.fail(err.message, start);
      throw err;
    }
    this.pos = end + 1;
    return { kind: 'regex', source };
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private peekWord(): string {
    return /^[A-Za-z]+/.exec(this.src.slice(this.pos))?.[0] ?? '';
  }

  private atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  private skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  private describeHere(): string {
    if (this.atEnd()) return 'the end of the pattern';
    if (/\s/.test(this.src[this.pos]!)) return 'a space';
    const word = /^[^\s(){}&|"]+/.exec(this.src.slice(this.pos))?.[0];
    return word && word.length > 1 ? JSON.stringify(word.slice(0, 40)) : `'${this.src[this.pos]!}'`;
  }

  private fail(reason: string, at: number = this.pos): never {
    throw new FilterPatternError(reason, at + 1);
  }
}

/** Splits a value at its `*` wildcards; in quoted strings `\*` is a literal star. */
function splitWildcards(raw: string, quoted: boolean): StringPart[] {
  const parts: StringPart[] = [];
  let literal = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quoted && c === '\\' && i + 1 < raw.length) {
      literal += raw[++i];
    } else if (c === '*') {
      if (literal) parts.push(literal);
      literal = '';
      if (typeof parts[parts.length - 1] !== 'object') parts.push({ wildcard: true });
    } else {
      literal += c;
    }
  }
  if (literal) parts.push(literal);
  return parts;
}

function unescape(raw: string): string {
  return raw.replace(/\\(.)/g, '$1');
}
