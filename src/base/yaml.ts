/**
 * YAML that users hand us (catalogues, manifests), parsed with a bound on alias expansion. js-yaml
 * shares an aliased node instead of copying it, so a 1 KB "billion laughs" document parses fast
 * and then expands to 10⁸ nodes in whatever walks or serialises it next (the rules, JSON output).
 * A stream of many documents is split first and parsed one document at a time: js-yaml holds the
 * events and values of every document at once, about 20 times the text for a large manifest.
 */
import { constructFromEvents, EVENT_ID, type Event, parseEvents, type Schema } from 'js-yaml';
import { UsageError } from './errors.js';

/** Nodes that aliases may add to a file, counted as if copied: far above any real manifest's use. */
export const MAX_ALIAS_NODES = 100_000;

export interface ParsedYaml {
  events: Event[];
  documents: unknown[];
}

/** Alias nodes counted so far in one file; shared by the parses of its documents. */
export interface AliasBudget {
  added: number;
}

/**
 * Throws UsageError for a document that expands too far; js-yaml's own errors pass through. Pass
 * one budget to every part of a file parsed apart, so the bound stays per file.
 */
export function parseYaml(text: string, filename: string, schema?: Schema, budget: AliasBudget = { added: 0 }): ParsedYaml {
  const events = parseEvents(text, { filename });
  checkAliasExpansion(text, events, filename, budget);
  const documents = constructFromEvents(events, { source: text, filename, ...(schema && { schema }) });
  return { events, documents };
}

/** One document of a stream: its text is `text.slice(start, end)`, beginning on 0-based line `line`. */
export interface DocumentSpan {
  start: number;
  end: number;
  line: number;
}

const isMarkerEnd = (c: number): boolean => Number.isNaN(c) || c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** `---` or `...` at `at`, followed by a blank, a line end or the end of the text. */
function markerAt(text: string, at: number): '---' | '...' | undefined {
  const c = text.charCodeAt(at);
  if ((c !== 0x2d && c !== 0x2e) || text.charCodeAt(at + 1) !== c || text.charCodeAt(at + 2) !== c) return undefined;
  if (!isMarkerEnd(text.charCodeAt(at + 3))) return undefined;
  return c === 0x2d ? '---' : '...';
}

/**
 * Splits a YAML stream where js-yaml would: at a `---` or `...` that starts a line (after an
 * optional BOM). YAML forbids those markers at a line start inside any scalar, so a block scalar
 * ends there too, and an indented `---` is content; no other scanner state is needed. `%`
 * directives, comments and blank lines after a `...` stay with the document the next `---` opens.
 * Each span parses alone to the documents the whole stream has there.
 */
export function* documentSpans(text: string): Generator<DocumentSpan> {
  let start = 0;
  let startLine = 0;
  // Nothing but directives, comments and blank lines since the last split: a `---` opens this span's document.
  let preamble = true;
  let line = 0;
  for (let at = 0; at < text.length; line++) {
    const next = text.indexOf('\n', at);
    const lineEnd = next === -1 ? text.length : next + 1;
    const first = text.charCodeAt(at) === 0xfeff ? at + 1 : at;
    const marker = markerAt(text, first);
    if (marker === '---') {
      if (!preamble) {
        yield { start, end: at, line: startLine };
        start = at;
        startLine = line;
      }
      preamble = false;
    } else if (marker === '...') {
      yield { start, end: lineEnd, line: startLine };
      start = lineEnd;
      startLine = line + 1;
      preamble = true;
    } else if (preamble && !/^[ \t]*(#.*)?\r?\n?$|^%/.test(text.slice(first, lineEnd))) preamble = false;
    at = lineEnd;
  }
  if (start < text.length || start === 0) yield { start, end: text.length, line: startLine };
}

/** One pass over the events: each node's size with aliases expanded, anchors remembered by name. */
function checkAliasExpansion(text: string, events: readonly Event[], filename: string, budget: AliasBudget): void {
  const anchors = new Map<string, number>();
  const open: { size: number; anchor?: string }[] = [];
  const anchorOf = (e: { anchorStart: number; anchorEnd: number }): string | undefined =>
    e.anchorStart === -1 ? undefined : text.slice(e.anchorStart, e.anchorEnd);
  const finish = (size: number, anchor: string | undefined): void => {
    if (anchor !== undefined) anchors.set(anchor, size);
    const parent = open.at(-1);
    if (parent) parent.size += size;
  };
  for (const e of events) {
    switch (e.type) {
      case EVENT_ID.DOCUMENT:
        open.push({ size: 0 });
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const anchor = anchorOf(e);
        open.push(anchor === undefined ? { size: 1 } : { size: 1, anchor });
        break;
      }
      case EVENT_ID.SCALAR:
        finish(1, anchorOf(e));
        break;
      case EVENT_ID.ALIAS: {
        const size = anchors.get(text.slice(e.anchorStart, e.anchorEnd)) ?? 1;
        budget.added += size;
        if (budget.added > MAX_ALIAS_NODES)
          throw new UsageError(`${filename}: YAML aliases expand to over ${MAX_ALIAS_NODES} nodes (an alias bomb?); refused`);
        finish(size, undefined);
        break;
      }
      case EVENT_ID.POP: {
        const node = open.pop();
        if (node) finish(node.size, node.anchor);
        break;
      }
    }
  }
}
