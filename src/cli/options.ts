import { InvalidArgumentError, Option, type Command } from 'commander';

/** A commander parser for a positive integer option, with a message that names the problem. */
export function positiveInteger(max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    }
    return Number(value);
  };
}

export function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return Number(value);
}

/** A number of seconds (fractions allowed) returned in milliseconds. */
export function seconds(value: string): number {
  const parsed = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(parsed > 0)) throw new InvalidArgumentError('expected a number of seconds above 0');
  return Math.round(parsed * 1000);
}

/** The bundle a command works on when no --manifest or --bundle is given. */
export const DEFAULT_BUNDLE = 'voice-assistant';

/** --manifest, --bundle and --dir: what every bundle command works on. */
export function addTargetOptions(command: Command): Command {
  return command
    .option('-m, --manifest <file>', 'manifest JSON file (default: the built-in voice-assistant bundle)')
    .addOption(new Option('-b, --bundle <name>', 'a built-in bundle (see `modelhaul bundles`)').conflicts('manifest'))
    .option('-d, --dir <dir>', 'install dir (default: $MODELHAUL_DIR, else <user data folder>/modelhaul/<bundle>)');
}

/**
 * A commander parser for an origin (`--token-origin`): an http(s) URL, reduced to its origin, so
 * that a mistyped value is a usage error (exit 2) naming the option, not a failure later.
 */
export function origin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an origin such as https://huggingface.co');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError('expected an http:// or https:// origin');
  return url.origin;
}
