import { Option, type Command } from 'commander';
import { addArtifactToManifest, type AddArtifactResult } from '../../add-artifact.js';
import { isInstallError } from '../../errors.js';
import { loadManifestFile } from '../../manifest/parse.js';
import { ARTIFACT_KINDS } from '../../manifest/schema.js';
import type { ArtifactKind } from '../../manifest/types.js';
import type { Credentials } from '../../http/credentials.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { seconds } from '../options.js';
import { formatBytes } from '../format.js';
import { table } from '../render/table.js';
import { listenForInterruption } from '../signals.js';
import { progressLine } from '../render/progress-line.js';
import { HUGGING_FACE_ORIGIN } from './install.js';

interface AddCommandOptions {
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

interface CheckCommandOptions {
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
    .option('--token-origin <origin>', 'send the token to this origin instead of the URL\'s')
    .option('--stall-timeout <seconds>', 'seconds without data before the download counts as stalled (default: 30)', seconds)
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
      setExitCode(await runCheck(file, options, context));
    });
}

async function runAdd(url: string, options: AddCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  const interruption = listenForInterruption(() => process.exit(EXIT.sigint));
  const progress = progressLine(context, !json);
  try {
    const credentials = credentialsFor(url, options, context.env);
    const result = await addArtifactToManifest({
      manifestPath: options.manifest,
      url,
      ...(options.id !== undefined ? { id: options.id } : {}),
      ...(options.kind !== undefined ? { kind: options.kind } : {}),
      ...(options.label !== undefined ? { label: options.label } : {}),
      ...(options.path !== undefined ? { path: options.path } : {}),
      ...(options.file !== undefined ? { file: options.file } : {}),
      ...(credentials ? { credentials } : {}),
      allowHttp: options.allowHttp === true,
      signal: interruption.signal,
      stallTimeoutMs: options.stallTimeout ?? 30_000,
      onProgress: ({ phase, bytes, total }) => progress.update(phase === 'hashing' ? 'Hashing' : 'Downloading to hash', bytes, total),
    });
    progress.clear();
    if (json) context.out(JSON.stringify({ event: 'manifest-add', manifestPath: result.manifestPath, created: result.created, source: result.source, artifact: result.artifact }) + '\n');
    else printAdded(result, context);
    return EXIT.ok;
  } catch (error) {
    progress.clear();
    const code = reportError(error, { json, stdout: context.out, stderr: context.err, paint: context.paintErr });
    // A --file that is not there is a mistake on the command line, like a bad field.
    return isInstallError(error) && error.code === 'NOT_FOUND' && error.details.field === 'file' ? EXIT.usage : code;
  } finally {
    interruption.dispose();
  }
}

function printAdded(result: AddArtifactResult, context: CliContext): void {
  const { artifact } = result;
  const how = {
    'linked-headers': "size and SHA-256 from the server's X-Linked headers; nothing downloaded",
    download: 'downloaded and hashed; nothing saved',
    file: 'hashed from the local file',
  }[result.source];
  context.out(`${context.paint('green', '✓')} ${result.created ? 'Created' : 'Updated'} ${result.manifestPath}: added ${context.paint('bold', artifact.id)} (${how})\n`);
  const fields: Array<[string, string]> = [
    ['kind', artifact.kind],
    ['label', artifact.label],
    ['size', `${formatBytes(artifact.size)} (${artifact.size} bytes)`],
    ['sha256', artifact.sha256],
    ['path', artifact.path],
  ];
  for (const [name, value] of fields) context.out(`  ${name.padEnd(7)} ${value}\n`);
  context.out(`${result.manifest.artifacts.length} artifacts in ${result.manifest.name}. Check it with \`modelhaul manifest check ${result.manifestPath}\`.\n`);
}

/**
 * --token goes to the URL's origin (or --token-origin); a token from $HF_TOKEN only ever goes to
 * huggingface.co, whatever the URL. Redirect targets on other origins never get it.
 */
function credentialsFor(url: string, options: AddCommandOptions, env: NodeJS.ProcessEnv): Credentials | undefined {
  const explicit = options.token !== undefined && options.token !== '';
  const token = explicit ? options.token : env.HF_TOKEN;
  if (token === undefined || token === '') return undefined;
  let origin: string;
  try {
    origin = new URL(options.tokenOrigin ?? (explicit ? url : HUGGING_FACE_ORIGIN)).origin;
  } catch {
    return undefined; // an invalid URL is reported by the URL check, with the field named
  }
  return { [origin]: `Bearer ${token}` };
}

async function runCheck(file: string, options: CheckCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  try {
    const manifest = await loadManifestFile(file, { allowHttp: options.allowHttp === true });
    const totalSize = manifest.artifacts.reduce((sum, a) => sum + a.size, 0);
    if (json) {
      context.out(JSON.stringify({ event: 'manifest-check', ok: true, file, name: manifest.name, artifactCount: manifest.artifacts.length, totalSize }) + '\n');
    } else {
      const count = `${manifest.artifacts.length} ${manifest.artifacts.length === 1 ? 'artifact' : 'artifacts'}`;
      context.out(`${context.paint('green', '✓')} ${file} is a valid manifest: ${context.paint('bold', manifest.name)}, ${count}, ${formatBytes(totalSize)} (${totalSize} bytes)\n`);
      context.out(table(['KIND', 'ID', 'SIZE', 'PATH'], manifest.artifacts.map((a) => [a.kind, a.id, formatBytes(a.size), a.path])).replace(/^/gm, '  ') + '\n');
    }
    return EXIT.ok;
  } catch (error) {
    reportError(error, { json, stdout: context.out, stderr: context.err, paint: context.paintErr });
    if (!json && isInstallError(error)) {
      const problems = error.details.problems;
      const count = error.details.problemCount;
      if (typeof problems === 'string' && typeof count === 'number' && count > 1) {
        context.err(`  all ${count} problems:\n${problems.replace(/^/gm, '    ')}\n`);
      }
    }
    // Whatever the reason (invalid, missing, unreadable), the answer to "is this a usable manifest" is no.
    return EXIT.usage;
  }
}
