import { Option, type Command } from 'commander';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_CONNECTIONS,
  DEFAULT_FOREIGN_LOCK_TIMEOUT_MS,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_RETRIES,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  MAX_CONNECTIONS,
} from '../../defaults.js';
import type { CliContext } from '../context.js';
import { addTargetOptions, nonNegativeInteger, origin, positiveInteger, seconds } from '../options.js';

export interface InstallCommandOptions {
  manifest?: string;
  bundle?: string;
  dir?: string;
  json?: boolean;
  quiet?: boolean;
  concurrency: number;
  connections: number;
  retries: number;
  retryDelay: number;
  stallTimeout: number;
  lockTimeout?: number;
  allowHttp?: boolean;
  token?: string;
  tokenOrigin: string;
  mirror: string[];
  checkpointBytes?: number;
  checkpointInterval?: number;
}

export const HUGGING_FACE_ORIGIN = 'https://huggingface.co';

export function registerInstall(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  addTargetOptions(program.command('install'))
    .description('download, verify and install every artifact of a bundle (resumes where an earlier run stopped)')
    .option('--json', 'print one JSON event per line on stdout (plan, start, progress, retry, verifying, installed, skipped, failed, done)')
    .option('-q, --quiet', 'print only failures and the final summary')
    .option('--concurrency <n>', 'artifacts downloaded at the same time', positiveInteger(32), DEFAULT_CONCURRENCY)
    .option('--connections <n>', `connections per large file when the server allows ranges (1-${MAX_CONNECTIONS})`, positiveInteger(MAX_CONNECTIONS), DEFAULT_CONNECTIONS)
    .option('--retries <n>', 'failed attempts in a row, without progress, before an artifact fails', nonNegativeInteger, DEFAULT_RETRIES)
    .addOption(
      new Option('--retry-delay <seconds>', `first retry delay; it doubles with each retry, with jitter, up to ${DEFAULT_RETRY_MAX_DELAY_MS / 1000} s`)
        .argParser(seconds)
        .default(DEFAULT_RETRY_BASE_DELAY_MS, String(DEFAULT_RETRY_BASE_DELAY_MS / 1000)),
    )
    .addOption(
      new Option('--stall-timeout <seconds>', 'seconds without data before a connection counts as stalled')
        .argParser(seconds)
        .default(DEFAULT_STALL_TIMEOUT_MS, String(DEFAULT_STALL_TIMEOUT_MS / 1000)),
    )
    .option(
      '--lock-timeout <seconds>',
      `seconds to wait for another modelhaul installing into the same dir (default: ${DEFAULT_LOCK_TIMEOUT_MS / 1000}; ${DEFAULT_FOREIGN_LOCK_TIMEOUT_MS / 1000} when it runs on another host)`,
      seconds,
    )
    .option(
      '--mirror <source>',
      'try this source first (repeatable, in order; default: $MODELHAUL_MIRRORS): https://HOST/PREFIX serves PREFIX/<artifact path>; oci://HOST/REPO:TAG and oci-layout:PATH[:TAG] serve the blobs of that bundle',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--allow-http', 'allow plain http:// URLs to hosts other than loopback')
    .option('--token <token>', 'access token sent as "Authorization: Bearer" to --token-origin only (default: $HF_TOKEN)')
    .option('--token-origin <origin>', 'the only origin the token is sent to', origin, HUGGING_FACE_ORIGIN)
    // Advanced tuning, hidden from --help: the crash soak uses them to make checkpoints frequent.
    .addOption(new Option('--checkpoint-bytes <n>', 'make downloaded bytes durable and record them at least every n bytes').argParser(positiveInteger()).hideHelp())
    .addOption(new Option('--checkpoint-interval <seconds>', '...and at least this often').argParser(seconds).hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  $ modelhaul install                                  # the built-in voice-assistant bundle
  $ modelhaul install --manifest models.json --dir ./models
  $ modelhaul install -m models.json -d ./models --json | jq -c 'select(.event != "progress")'
  $ HF_TOKEN=hf_... modelhaul install -m gated.json    # token goes to huggingface.co only
  $ modelhaul install --mirror https://models.lan/voice # a web server holding a copy of an install dir;
                                                       # what it lacks comes from the manifest URLs
  $ modelhaul install -m models.json --mirror oci://registry.lan/models/voice:1.0

Exit codes: 0 all installed, 1 some failed (the rest are installed), 2 bad usage or manifest,
130/143 interrupted by SIGINT/SIGTERM (downloads are kept; run the same command to resume).`,
    )
    .action(async (options: InstallCommandOptions) => {
      const { runInstall } = await import('./install-action.js');
      setExitCode(await runInstall(options, context));
    });
}
