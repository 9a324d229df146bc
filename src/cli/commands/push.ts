import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { nonNegativeInteger, positiveInteger, seconds } from '../options.js';

export interface PushCommandOptions {
  manifest?: string;
  bundle?: string;
  dir?: string;
  json?: boolean;
  allowHttp?: boolean;
  retries: number;
  lockTimeout?: number;
  chunkBytes?: number;
}

export function registerPush(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  program
    .command('push')
    .argument('<target>', 'oci://HOST[:PORT]/REPOSITORY[:TAG] for a registry, oci-layout:PATH[:TAG] for an image-layout folder')
    .description('publish an installed bundle to an OCI registry or an image-layout folder (only verified files)')
    .option('-m, --manifest <file>', 'manifest JSON file (default: the built-in voice-assistant bundle)')
    .addOption(new Option('-b, --bundle <name>', 'a built-in bundle (see `modelhaul bundles`)').conflicts('manifest'))
    .option('-d, --dir <dir>', 'install dir holding the verified files (default: $MODELHAUL_DIR, else <user data folder>/modelhaul/<bundle>)')
    .option('--json', 'print one JSON event per line on stdout (plan, skipped, start, progress, uploaded, pushed, done)')
    .option('--allow-http', 'talk plain http to a registry that is not on loopback')
    .option('--retries <n>', 'failed attempts in a row, without progress, before a blob fails', nonNegativeInteger, 5)
    .option('--lock-timeout <seconds>', 'seconds to wait for another modelhaul using the same dir', seconds)
    // Small chunks make an upload stop between requests in the kill tests.
    .addOption(new Option('--chunk-bytes <n>', 'bytes per upload request').argParser(positiveInteger()).hideHelp())
    .addHelpText(
      'after',
      `
Credentials come from the Docker config file ($DOCKER_CONFIG/config.json, else ~/.docker/config.json),
as \`modelhaul login HOST\` or \`docker login HOST\` write them. Blobs the registry has are skipped; an
interrupted push continues where it stopped; the image manifest goes last and its digest is printed.

Examples:
  $ modelhaul push oci://registry.example.com/models/voice-assistant:1.0 -m models.json -d ./models
  $ modelhaul push oci-layout:/media/usb/models:1.0 -m models.json -d ./models    # an offline copy
  $ modelhaul install --manifest oci://registry.example.com/models/voice-assistant:1.0 --dir ./models`,
    )
    .action(async (target: string, options: PushCommandOptions) => {
      const { runPush } = await import('./push-action.js');
      setExitCode(await runPush(target, options, context));
    });
}
