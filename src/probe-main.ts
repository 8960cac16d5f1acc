/**
 * A probe pod's entry: the `probe` subcommand alone. The build bundles it into one file
 * (scripts/bundle-probe.ts): loading the probe's hundred-odd modules one by one cost a probe
 * pod half its start-up CPU, on nodes where probe pods start by the dozen.
 */
import { addProbeCommand, newProgram, runProgram } from './cli-common.js';

await runProgram(addProbeCommand(newProgram()), process.argv);
