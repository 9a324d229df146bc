#!/usr/bin/env node
import { runCli } from './program.js';
import { processContext } from './context.js';
import { reportError } from './report-error.js';

const context = processContext();
try {
  process.exitCode = await runCli(process.argv.slice(2), context);
} catch (error) {
  if (process.env.MODELHAUL_DEBUG) console.error(error);
  process.exitCode = reportError(error, { json: false, stdout: context.out, stderr: context.err, paint: context.paintErr });
}
