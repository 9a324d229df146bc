import type { Readable } from 'node:stream';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod/mini';
import { InstallError } from '../errors.js';
import { readJsonRecord } from '../store/json-record.js';
import { removeFile, writeFileAtomic } from '../store/durable-fs.js';
import { discard } from '../http/open-response.js';
import type { RegistryRequest, RegistryResponse, RegistrySession } from './registry-session.js';

/**
 * What modelhaul remembers of an unfinished blob upload, so that a push killed half-way continues
 * the registry's upload session instead of sending every byte again. The Location carries the
 * registry's signed state of the session, which names the offset it expects next.
 */
interface UploadRecord {
  format: 'modelhaul-upload';
  version: 1;
  registry: string;
  repository: string;
  digest: string;
  size: number;
  location: string;
  offset: number;
  updatedAt: string;
}

const uploadRecordSchema = z.object({
  format: z.literal('modelhaul-upload'),
  version: z.literal(1),
  registry: z.string(),
  repository: z.string(),
  digest: z.string(),
  size: z.int().check(z.nonnegative()),
  location: z.string().check(z.minLength(1)),
  offset: z.int().check(z.nonnegative()),
  updatedAt: z.string(),
});

/** One blob to upload from a file. */
export interface BlobUpload {
  session: RegistrySession;
  /** The blob's bytes from `start` to `end` (exclusive), read afresh at each call. */
  read: (start: number, end: number) => Readable | Buffer;
  digest: string;
  size: number;
  /** Where the upload's record is kept between runs. */
  recordPath: string;
  /** Bytes per PATCH; a blob no larger goes in one PUT. */
  chunkBytes: number;
  /** Called with the bytes the registry has confirmed, after each chunk. */
  onProgress?: (bytes: number) => void;
  /** Called once the upload knows where it starts: 0, or where an earlier run stopped. */
  onStart?: (offset: number) => void;
  /** Called when an earlier upload session could not be continued and this one starts from zero. */
  onRestart?: (reason: string) => void;
}

/** How an upload went. */
export interface BlobUploadResult {
  /** Bytes the registry had from an earlier run, continued from. */
  resumedFrom: number;
  /** Bytes sent in this run. */
  bytesSent: number;
}

/**
 * Uploads a blob in chunks (POST to open a session, PATCH each chunk with its Content-Range, PUT
 * with the digest to close it), recording the session after every chunk the registry accepted.
 * A later call continues that session where the registry says it stands; a session the registry
 * no longer knows, or whose offset does not match (a chunk was cut off by a kill), is dropped and
 * the upload starts over cleanly. The registry checks the digest of what it received at the PUT.
 *
 * @example
 * ```ts
 * await uploadBlob({ session, digest, size, recordPath, chunkBytes: 16 << 20,
 *   read: (start, end) => createReadStream(file, { start, end: end - 1 }) });
 * ```
 */
export async function uploadBlob(upload: BlobUpload): Promise<BlobUploadResult> {
  const { session } = upload;
  let state = await continueSession(upload);
  const resumedFrom = state?.offset ?? 0;
  state ??= await openSession(upload);
  upload.onStart?.(state.offset);
  let bytesSent = 0;
  while (state.offset < upload.size) {
    const start = state.offset;
    const end = Math.min(upload.size, start + upload.chunkBytes);
    if (start === 0 && end === upload.size) break; // small enough for one PUT
    const response = await expectOrResync(session, upload.digest, {
        method: 'PATCH',
        url: state.location,
        push: true,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(end - start),
          'content-range': `${start}-${end - 1}`,
        },
        body: () => upload.read(start, end),
        subject: `upload of ${upload.digest}`,
      });
    await discard(response.body);
    const confirmed = confirmedEnd(response.headers.range) ?? end;
    if (confirmed !== end) {
      throw new InstallError('HTTP_STATUS', `${session.registry} took bytes up to ${confirmed} of a chunk ending at ${end} for ${upload.digest}`, {
        retryable: true,
        hint: 'The registry lost part of an upload; run the same command again to continue it.',
        details: { registry: session.registry, digest: upload.digest },
      });
    }
    bytesSent += end - start;
    state = await saveState(upload, locationOf(response.headers.location, state.location, session), end);
    upload.onProgress?.(end);
  }
  const whole = state.offset === 0 && upload.size > 0;
  const response = await session.expect(
    {
      method: 'PUT',
      url: withQuery(state.location, 'digest', upload.digest),
      push: true,
      headers: whole
        ? { 'content-type': 'application/octet-stream', 'content-length': String(upload.size) }
        : { 'content-length': '0' },
      ...(whole ? { body: () => upload.read(0, upload.size) } : {}),
      subject: `upload of ${upload.digest}`,
    },
    [201, 204],
  );
  await discard(response.body);
  if (whole) bytesSent += upload.size;
  upload.onProgress?.(upload.size);
  await removeFile(upload.recordPath).catch(() => undefined);
  return { resumedFrom, bytesSent };
}

/**
 * A PATCH answered 202, or an error. A 416 means the registry's session stands at another offset
 * than the record (a chunk it got although the answer was lost): retryable, since the next
 * attempt asks the registry where it stands and goes on from there.
 */
async function expectOrResync(session: RegistrySession, digest: string, request: RegistryRequest): Promise<RegistryResponse> {
  const response = await session.send(request);
  if (response.status === 202) return response;
  const failure = await session.failure(response, `upload of ${digest}`);
  if (response.status !== 416) throw failure;
  throw new InstallError('HTTP_STATUS', `${failure.message}: the registry holds another part of the upload than recorded`, {
    retryable: true,
    hint: 'modelhaul asks the registry where the upload stands and goes on from there; run the same command again if this persists.',
    details: failure.details,
  });
}

/** The record file of an upload: one per registry, repository and digest. */
export function uploadRecordName(registry: string, repository: string, digest: string): string {
  const safe = `${registry}/${repository}`.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `${safe}_${digest.replace(':', '-')}.upload.json`;
}

async function continueSession(upload: BlobUpload): Promise<{ location: string; offset: number } | undefined> {
  const read = await readJsonRecord(upload.recordPath, uploadRecordSchema).catch(() => ({ state: 'absent' as const }));
  if (read.state !== 'ok') return undefined;
  const record = read.record;
  const { session } = upload;
  if (record.registry !== session.registry || record.repository !== session.repository || record.digest !== upload.digest || record.size !== upload.size) {
    return undefined;
  }
  // The registry says where the session stands; distribution drops a session asked about with
  // an outdated state (a chunk it received after our last record), which then starts over.
  const response = await session.send({ method: 'GET', url: record.location, push: true, subject: `upload of ${upload.digest}` });
  await discard(response.body);
  // distribution writes `0-0` both for no byte and for one: the record's offset tells them apart.
  const range = response.headers.range?.trim();
  const end = range === '0-0' ? Math.min(record.offset, 1) : confirmedEnd(range);
  if (response.status !== 204 || end === undefined || end > upload.size) {
    upload.onRestart?.(`the registry no longer continues the earlier upload (HTTP ${response.status}); starting it over`);
    await removeFile(upload.recordPath).catch(() => undefined);
    return undefined;
  }
  return saveState(upload, locationOf(response.headers.location, record.location, session), end);
}

async function openSession(upload: BlobUpload): Promise<{ location: string; offset: number }> {
  const { session } = upload;
  // No `?digest=` here: distribution 2.8 ignores the body of such a POST.
  const response = await session.expect(
    { method: 'POST', url: session.repositoryPath('blobs/uploads/'), push: true, headers: { 'content-length': '0' }, subject: `upload of ${upload.digest}` },
    [202],
  );
  await discard(response.body);
  const location = response.headers.location;
  if (location === undefined) {
    throw new InstallError('HTTP_STATUS', `${session.registry} opened an upload without saying where to send it (no Location)`, {
      details: { registry: session.registry },
    });
  }
  return saveState(upload, session.url(location), 0);
}

async function saveState(upload: BlobUpload, location: string, offset: number): Promise<{ location: string; offset: number }> {
  const record: UploadRecord = {
    format: 'modelhaul-upload',
    version: 1,
    registry: upload.session.registry,
    repository: upload.session.repository,
    digest: upload.digest,
    size: upload.size,
    location,
    offset,
    updatedAt: new Date().toISOString(),
  };
  await mkdir(path.dirname(upload.recordPath), { recursive: true });
  // The Location carries a signed session state: readable by this user only.
  await writeFileAtomic(upload.recordPath, JSON.stringify(record) + '\n', 0o600);
  return { location, offset };
}

/** The end (exclusive) of the bytes a registry confirms with `Range: 0-N`; undefined when absent. */
function confirmedEnd(range: string | undefined): number | undefined {
  const match = range === undefined ? null : /^(?:bytes=)?0-(\d+)$/.exec(range.trim());
  return match ? Number(match[1]) + 1 : undefined;
}

function locationOf(location: string | undefined, previous: string, session: RegistrySession): string {
  return location === undefined ? previous : new URL(location, session.url(previous)).href;
}

/** Appends a query parameter without re-encoding the rest: the session state is signed. */
function withQuery(url: string, name: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}
