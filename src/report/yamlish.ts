/**
 * TAP's diagnostic blocks in the YAML subset every TAP consumer in common use reads: Perl's
 * TAP::Parser (`prove`, YAMLish), node-tap's tap-parser, js-yaml. Block mappings and sequences
 * only; a string is plain when no YAML reader could take it for anything else, else one
 * double-quoted line with escapes. Never a `|-` block: TAP::Parser 3.44 rejects them.
 */

/** Words YAML 1.1 readers turn into booleans or null. */
const KEYWORDS = /^(y|n|yes|no|true|false|on|off|null)$/i;
const PLAIN = /^[A-Za-z][A-Za-z0-9_./-]*$/;

const ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r' };

function quote(text: string): string {
  // Lone surrogates cannot be written as UTF-8 at all.
  const wellFormed = text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them is the point.
  const escaped = wellFormed.replace(/[\\"\n\t\r\x00-\x1f\x7f-\x9f\ufffe\uffff]/g, (c) => {
    const code = c.charCodeAt(0);
    return ESCAPES[c] ?? (code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`);
  });
  return `"${escaped}"`;
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return '~';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : quote(String(value));
  const text = String(value);
  return PLAIN.test(text) && !KEYWORDS.test(text) ? text : quote(text);
}

const isCollection = (v: unknown): v is Record<string, unknown> | unknown[] => v !== null && typeof v === 'object';
const isEmpty = (v: Record<string, unknown> | unknown[]): boolean => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);

/** The lines of `value` (a mapping or a sequence), each starting with `indent`. */
export function yamlish(value: Record<string, unknown> | unknown[], indent = ''): string[] {
  const nested = (v: unknown, lead: string): string[] => {
    if (!isCollection(v)) return [`${lead} ${scalar(v)}`];
    if (isEmpty(v)) return [`${lead} ${Array.isArray(v) ? '[]' : '{}'}`];
    return [lead, ...yamlish(v, `${indent}  `)];
  };
  if (Array.isArray(value)) return value.flatMap((item) => nested(item, `${indent}-`));
  return Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .flatMap(([key, v]) => nested(v, `${indent}${scalar(key)}:`));
}
