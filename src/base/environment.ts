/** A process's environment as a value: read from `process.env` once, at the CLI, and passed on. */
export type Environment = Readonly<Record<string, string | undefined>>;
