import { addArtifactToManifest, type AddArtifactResult } from '../../operations/manifest-add.js';
import { isInstallError } from '../../errors.js';
import type { Credentials } from '../../http/credentials.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { formatBytes } from '../format.js';
import { listenForInterruption } from '../signals.js';
import { progressLine } from '../render/progress-line.js';
import { HUGGING_FACE_ORIGIN } from './install.js';
import type { AddCommandOptions } from './manifest.js';

export async function runAdd(url: string, options: AddCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  const interruption = listenForInterruption(() => process.exit(EXIT.sigint));
  const progress = await progressLine(context, !json);
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
