/**
 * YAML that users hand us (catalogues, manifests), parsed with a bound on alias expansion. js-yaml
 * shares an aliased node instead of copying it, so a 1 KB "billion laughs" document parses fast
 * and then expands to 10⁸ nodes in whatever walks or serialises it next (the rules, JSON output).
 */
import { constructFromEvents, EVENT_ID, type Event, parseEvents, type Schema } from 'js-yaml';
import { UsageError } from './errors.js';

/** Nodes that aliases may add to a file, counted as if copied: far above any real manifest's use. */
export const MAX_ALIAS_NODES = 100_000;

export interface ParsedYaml {
  events: Event[];
  documents: unknown[];
}

/** Throws UsageError for a document that expands too far; js-yaml's own errors pass through. */
export function parseYaml(text: string, filename: string, schema?: Schema): ParsedYaml {
  const events = parseEvents(text, { filename });
  checkAliasExpansion(text, events, filename);
  const documents = constructFromEvents(events, { source: text, filename, ...(schema && { schema }) });
  return { events, documents };
}

/** One pass over the events: each node's size with aliases expanded, anchors remembered by name. */
function checkAliasExpansion(text: string, events: readonly Event[], filename: string): void {
  const anchors = new Map<string, number>();
  const open: { size: number; anchor?: string }[] = [];
  let added = 0;
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
        added += size;
        if (added > MAX_ALIAS_NODES)
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
