import { readFile } from 'node:fs/promises';
import type { ZodMiniType } from 'zod/mini';
import { fsError, hasErrorCode } from './fs-error.js';

/** What reading a record found: the record, nothing, or a file that could not be trusted. */
export type RecordRead<T> =
  | { state: 'ok'; record: T }
  | { state: 'absent' }
  | { state: 'corrupt'; reason: string };

/**
 * Reads a JSON record and validates it. A record that fails to parse or validate is reported as
 * corrupt rather than thrown: a damaged resume record must cost at most a re-download of that
 * artifact, never the whole install (docs/rules.md rule 24).
 */
export async function readJsonRecord<T>(file: string, schema: ZodMiniType<T>): Promise<RecordRead<T>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT') || hasErrorCode(error, 'ENOTDIR')) return { state: 'absent' };
    throw fsError(error, 'read the record', file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { state: 'corrupt', reason: `not JSON (${(error as Error).message})` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { state: 'corrupt', reason: issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid' };
  }
  return { state: 'ok', record: parsed.data };
}
