/**
 * Text from a cluster, a bundle or a companion's reply, printed on a terminal: control
 * characters could move the cursor or forge lines, so they are shown, not obeyed.
 */

/** C0 and C1 controls and DEL shown as \xNN; everything else as is. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
