import { Option, type Command } from 'commander';
import { ARTIFACT_KINDS } from '../../manifest/kinds.js';
import { DEFAULT_STALL_TIMEOUT_MS } from '../../defaults.js';
import type { ArtifactKind } from '../../manifest/types.js';
import type { CliContext } from '../context.js';
import { origin, seconds } from '../options.js';

export interface AddCommandOptions {
  manifest: string;
  id?: string;
  kind?: ArtifactKind;
  label?: string;
  path?: string;
  file?: string;
  allowHttp?: boolean;
  token?: string;
  tokenOrigin?: string;
  stallTimeout?: number;
  json?: boolean;
}

export interface CheckCommandOptions {
  allowHttp?: boolean;
  json?: boolean;
}

export function registerManifest(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  const manifest = program
    .command('manifest')
    .description('write and check manifest files: `manifest add URL`, `manifest check FILE`')
    .addHelpText(
      'after',
      `
Examples:
  $ modelhaul manifest add https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin -m models.json
  $ modelhaul manifest check models.json`,
    );

  manifest
    .command('add')
    .description('append an artifact to a manifest file (created if missing), with its size and SHA-256')
    .argument('<url>', 'where the file is downloaded from')
    .requiredOption('-m, --manifest <file>', 'the manifest file to append to (created if it does not exist)')
    .option('--id <id>', 'artifact id (default: the file name, lowercased, reduced to a-z 0-9 . _ -)')
    .addOption(new Option('--kind <kind>', 'what the file is for (default: guessed from the name)').choices(ARTIFACT_KINDS))
    .option('--label <label>', 'name shown in progress output (default: the file name)')
    .option('--path <path>', 'where it goes in the install dir (default: <kind>/<file name>)')
    .option('--file <local-file>', 'take size and SHA-256 from this local copy instead of downloading the URL')
    .option('--allow-http', 'allow a plain http:// URL to a host other than loopback')
    .option('--token <token>', "access token, sent as \"Authorization: Bearer\" to the URL's origin only (default: $HF_TOKEN, for huggingface.co only)")
    .option('--token-origin <origin>', 'send the token to this origin instead of the URL\'s', origin)
    .option('--stall-timeout <seconds>', `seconds without data before the download counts as stalled (default: ${DEFAULT_STALL_TIMEOUT_MS / 1000})`, seconds)
    .option('--json', 'print the added artifact as one JSON object')
    .addHelpText(
      'after',
      `
Size and SHA-256 come from --file if given; otherwise the URL is downloaded and hashed (nothing is
saved). For a Hugging Face resolve URL a HEAD is tried first: when it carries X-Linked-Size and
X-Linked-Etag (files stored with Git LFS), nothing is downloaded at all.

Examples:
  $ modelhaul manifest add https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin -m models.json
  $ modelhaul manifest add https://example.com/voice.onnx -m models.json --id my-voice --label "My voice"
  $ modelhaul manifest add https://example.com/model.gguf -m models.json --file ~/Downloads/model.gguf
  $ HF_TOKEN=hf_... modelhaul manifest add https://huggingface.co/org/gated/resolve/main/model.gguf -m models.json`,
    )
    .action(async (url: string, options: AddCommandOptions) => {
      const { runAdd } = await import('./manifest-add-action.js');
      setExitCode(await runAdd(url, options, context));
    });

  manifest
    .command('check')
    .description('validate a manifest file and summarize it (downloads nothing)')
    .argument('<file>', 'the manifest file')
    .option('--allow-http', 'accept plain http:// URLs to hosts other than loopback')
    .option('--json', 'print the result as one JSON object')
    .addHelpText(
      'after',
      `
Exits 0 for a valid manifest, 2 with the field at fault (e.g. artifacts[1].sha256) otherwise.

Examples:
  $ modelhaul manifest check models.json
  $ modelhaul manifest check models.json --json`,
    )
    .action(async (file: string, options: CheckCommandOptions) => {
      const { runCheck } = await import('./manifest-check-action.js');
      setExitCode(await runCheck(file, options, context));
    });
}
