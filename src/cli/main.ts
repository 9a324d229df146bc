#!/usr/bin/env node
import { runCli } from './program.js';
import { processContext } from './context.js';
import { errorOutput, reportError } from './report-error.js';

const context = processContext();
let exitCode: number;
try {
  exitCode = await runCli(process.argv.slice(2), context);
} catch (error) {
  if (process.env.MODELHAUL_DEBUG) console.error(error);
  exitCode = reportError(error, errorOutput(context, false));
}
// Interrupted is interrupted (130/143), whatever the command made of it; a signal arriving after
// this line sets the code itself.
process.exitCode = context.interruption.exitCode ?? exitCode;
