/**
 * Calico's selector expression language (`selector`, `namespaceSelector`,
 * `serviceAccountSelector`), parsed by recursive descent and evaluated against labels. Pure.
 *
 *   expr    := or
 *   or      := and ('||' and)*
 *   and     := unary ('&&' unary)*
 *   unary   := '!' unary | '(' expr ')' | 'all()' | 'global()' | 'has(' key ')' | key op
 *   op      := ('==' | '!=') str | ['not'] 'in' '{' [str (',' str)*] '}'
 *            | 'contains' str | 'starts' 'with' str | 'ends' 'with' str
 *
 * An empty selector is all(). Negative terms (`!=`, `not in`, `!has`) match an absent label,
 * as Calico's do.
 */

export type CalicoSelector =
  | { op: 'all' }
  | { op: 'global' }
  | { op: 'has'; key: string }
  | { op: 'not'; of: CalicoSelector }
  | { op: 'and' | 'or'; left: CalicoSelector; right: CalicoSelector }
  | { op: '==' | '!=' | 'contains' | 'starts with' | 'ends with'; key: string; value: string }
  | { op: 'in' | 'not in'; key: string; values: readonly string[] };

export class CalicoSelectorError extends Error {
  override name = 'CalicoSelectorError';
}

type Token = { t: 'word' | 'str' | 'sym'; v: string; at: number };

// Label keys: an optional DNS prefix and a name (letters, digits, '-', '_', '.', '/').
const WORD = /[A-Za-z0-9_./-]+/y;
const SYMBOLS = ['&&', '||', '==', '!=', '!', '(', ')', '{', '}', ','] as const;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new CalicoSelectorError(`unterminated string at ${i + 1}`);
      out.push({ t: 'str', v: text.slice(i + 1, end), at: i });
      i = end + 1;
      continue;
    }
    const sym = SYMBOLS.find((s) => text.startsWith(s, i));
    if (sym !== undefined) {
      out.push({ t: 'sym', v: sym, at: i });
      i += sym.length;
      continue;
    }
    WORD.lastIndex = i;
    const m = WORD.exec(text);
    if (m === null) throw new CalicoSelectorError(`unexpected "${c}" at ${i + 1}`);
    out.push({ t: 'word', v: m[0], at: i });
    i += m[0].length;
  }
  return out;
}

export function parseCalicoSelector(text: string): CalicoSelector {
  const tokens = tokenize(text);
  if (tokens.length === 0) return { op: 'all' };
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const where = (): string => (peek() ? `"${peek()?.v}" at ${(peek()?.at ?? 0) + 1}` : 'the end');
  const fail = (want: string): never => {
    throw new CalicoSelectorError(`expected ${want}, found ${where()}`);
  };
  const isSym = (v: string): boolean => peek()?.t === 'sym' && peek()?.v === v;
  const isWord = (v: string): boolean => peek()?.t === 'word' && peek()?.v === v;
  const expectSym = (v: string): void => {
    if (!isSym(v)) fail(`"${v}"`);
    pos++;
  };
  const str = (): string => {
    const tok = peek();
    if (tok?.t !== 'str') return fail('a quoted string');
    pos++;
    return tok.v;
  };
  const call = (name: 'all' | 'global' | 'has'): boolean => isWord(name) && tokens[pos + 1]?.v === '(';

  /** `next (sym next)*`, left-associative. */
  const chain = (op: 'and' | 'or', sym: string, next: () => CalicoSelector) => (): CalicoSelector => {
    let left = next();
    while (isSym(sym)) {
      pos++;
      left = { op, left, right: next() };
    }
    return left;
  };
  const and = (): CalicoSelector => chain('and', '&&', unary)();
  const or = chain('or', '||', and);
  const unary = (): CalicoSelector => {
    if (isSym('!')) {
      pos++;
      return { op: 'not', of: unary() };
    }
    if (isSym('(')) {
      pos++;
      const inner = or();
      expectSym(')');
      return inner;
    }
    if (call('all') || call('global')) {
      const op = peek()?.v === 'all' ? 'all' : 'global';
      pos += 2;
      expectSym(')');
      return { op };
    }
    if (call('has')) {
      pos += 2;
      const key = peek();
      if (key?.t !== 'word') return fail('a label key');
      pos++;
      expectSym(')');
      return { op: 'has', key: key.v };
    }
    const key = peek();
    if (key?.t !== 'word') return fail('a label key, "!", "(", all(), global() or has()');
    pos++;
    return comparison(key.v);
  };
  const comparison = (key: string): CalicoSelector => {
    if (isSym('==') || isSym('!=')) {
      const op = peek()?.v === '==' ? '==' : '!=';
      pos++;
      return { op, key, value: str() };
    }
    if (isWord('contains')) {
      pos++;
      return { op: 'contains', key, value: str() };
    }
    for (const first of ['starts', 'ends'] as const) {
      if (isWord(first)) {
        pos++;
        if (!isWord('with')) fail('"with"');
        pos++;
        return { op: `${first} with`, key, value: str() };
      }
    }
    let negated = false;
    if (isWord('not')) {
      negated = true;
      pos++;
    }
    if (!isWord('in')) return fail(negated ? '"in"' : 'an operator (==, !=, in, not in, contains, starts with, ends with)');
    pos++;
    expectSym('{');
    const values: string[] = [];
    while (!isSym('}')) {
      if (values.length > 0) expectSym(',');
      values.push(str());
    }
    pos++;
    return { op: negated ? 'not in' : 'in', key, values };
  };

  const tree = or();
  if (pos < tokens.length) fail('"&&", "||" or the end');
  return tree;
}

/** `isGlobal`: the object is not namespaced (global() is for namespaceSelector on host endpoints). */
export function matchesCalico(selector: CalicoSelector, labels: Readonly<Record<string, string>>, isGlobal = false): boolean {
  const value = (key: string): string | undefined => (Object.hasOwn(labels, key) ? labels[key] : undefined);
  switch (selector.op) {
    case 'all':
      return true;
    case 'global':
      return isGlobal;
    case 'has':
      return value(selector.key) !== undefined;
    case 'not':
      return !matchesCalico(selector.of, labels, isGlobal);
    case 'and':
      return matchesCalico(selector.left, labels, isGlobal) && matchesCalico(selector.right, labels, isGlobal);
    case 'or':
      return matchesCalico(selector.left, labels, isGlobal) || matchesCalico(selector.right, labels, isGlobal);
    case '==':
      return value(selector.key) === selector.value;
    case '!=':
      return value(selector.key) !== selector.value;
    case 'in': {
      const v = value(selector.key);
      return v !== undefined && selector.values.includes(v);
    }
    case 'not in': {
      const v = value(selector.key);
      return v === undefined || !selector.values.includes(v);
    }
    case 'contains':
      return value(selector.key)?.includes(selector.value) === true;
    case 'starts with':
      return value(selector.key)?.startsWith(selector.value) === true;
    case 'ends with':
      return value(selector.key)?.endsWith(selector.value) === true;
  }
}
