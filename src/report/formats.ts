/**
 * The renderings `-o` offers, apart from their writers: cli.ts lists them in its help without
 * loading the writers (and through the JSON lines writer, the probe's network stack).
 */
export const FORMATS = ['tap', 'json', 'jsonl', 'junit', 'sarif', 'html', 'md', 'openmetrics'] as const;
export type Format = (typeof FORMATS)[number];
