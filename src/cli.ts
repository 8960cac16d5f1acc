#!/usr/bin/env node
/**
 * The one binary: `egress-verify <subcommand>`. A probe pod's `probe` loads the probe's entry
 * only (probe-main.ts); everything else loads the whole CLI (cli-main.ts). Both end in one line
 * on stderr and a documented exit code for any failure (cli-common.ts).
 */
import './threadpool.js';

await import(process.argv[2] === 'probe' ? './probe-main.js' : './cli-main.js');
// Work that cannot be cancelled (a getaddrinfo stuck on a dead resolver) must not keep a probe
// pod alive after its report is written. stdout and stderr are synchronous for files and pipes.
process.exit();
