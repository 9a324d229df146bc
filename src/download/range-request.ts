import { InstallError } from '../errors.js';
import { discard } from '../http/open-response.js';
import type { SourceLocation, SourceResponse } from '../sources/source.js';
import { checkResponse, type RangeRequest } from './check-response.js';
import type { OpenedSegment } from './segment-stream.js';
import type { LiveSegment } from './segments.js';
import { StartOver } from './start-over.js';
import type { TransferRun } from './transfer-run.js';

/**
 * Asks a location for the missing bytes of a segment and checks the answer. The lead request
 * of an attempt may turn a 200 into a fresh download from zero (docs/rules.md rule 7) and a 416 into
 * "already complete" or a start over (rule 8); any other connection must get exactly its range.
 * `If-Range` goes only to the location the stored validators came from; elsewhere the range is
 * asked for plainly and the final SHA-256 decides whether the joined bytes are right (rule 3).
 */
export async function openSegment(
  run: TransferRun,
  location: SourceLocation,
  segment: LiveSegment,
  signal: AbortSignal,
  lead: boolean,
): Promise<OpenedSegment | 'complete'> {
  const { partial, artifact } = run;
  const request = rangeFor(segment, artifact.size);
  const sameLocation = partial.record.validatorsFrom === location.validatorsFrom;
  const ifRange = request.ranged ? partial.ifRangeFor(location.validatorsFrom) : undefined;
  if (request.ranged && ifRange === undefined) run.unvalidatedJoin = true;
  const response = await location.open({ ...request, ifRange }, signal);
  let plan;
  try {
    plan = checkResponse(response, request, {
      artifactId: artifact.id,
      size: artifact.size,
      storedEtag: sameLocation ? partial.record.etag : undefined,
    });
  } catch (error) {
    await discard(response.body);
    if (error instanceof InstallError && error.code === 'RANGE_NOT_HONOURED') {
      // Never append what does not match (rule 5): the bytes on disk are kept only if the next
      // plain download proves them right, which it cannot, so start over without ranges.
      run.rangesDisabled = true;
      throw new StartOver(error.message, error);
    }
    throw error;
  }
  if (plan.kind === 'unsatisfiable') {
    await discard(response.body);
    if (lead && partial.segments.writtenBytes === artifact.size) return 'complete';
    throw new StartOver('the server answered 416 Range Not Satisfiable for bytes that are missing');
  }
  if (plan.kind === 'whole') {
    if (!request.ranged) {
      partial.adoptValidators(location.validatorsFrom, response.headers);
      return { segment, response, request, location };
    }
    if (!lead) {
      await discard(response.body);
      run.rangesDisabled = true;
      throw new StartOver('the server sent the whole file for a range request');
    }
    // The validator no longer matches or the server ignored Range: never append, start over
    // from zero with this very response (rule 7).
    await startOverFromZero(run, 'the server sent the whole file instead of the missing bytes', false);
    const whole = partial.segments.all[0]!;
    whole.active = true;
    partial.adoptValidators(location.validatorsFrom, response.headers);
    return { segment: whole, response, request: { first: 0, last: artifact.size - 1, ranged: false }, location };
  }
  // Bytes of another location joined plainly: from now on this location's validators guard them.
  if (!sameLocation) partial.adoptValidators(location.validatorsFrom, response.headers);
  return { segment, response, request, location };
}

/** True when the answer shows the location honours ranges under a validator we may send back. */
export function mayUseMoreConnections(run: TransferRun, location: SourceLocation, response: SourceResponse): boolean {
  const { connections, minSegmentBytes } = run.settings;
  if (connections <= 1 || run.rangesDisabled) return false;
  if (run.artifact.size - run.partial.segments.writtenBytes < 2 * minSegmentBytes) return false;
  if (run.partial.ifRangeFor(location.validatorsFrom) === undefined) return false;
  return response.status === 206 || response.headers['accept-ranges']?.toLowerCase() === 'bytes';
}

function rangeFor(segment: LiveSegment, size: number): RangeRequest {
  const first = segment.start + segment.written;
  if (first === 0 && segment.end === size) return { first: 0, last: size - 1, ranged: false };
  return { first, last: segment.end - 1, ranged: true };
}

/**
 * Discards every byte and starts over from zero: checkpoints under way stop counting, the record
 * is rewritten to claim nothing, then the file is cut back. A `restart` event says so when bytes
 * were lost or `report` asks for it.
 */
export async function startOverFromZero(run: TransferRun, reason: string, report: boolean): Promise<void> {
  await run.checkpointer.invalidate();
  const discardedBytes = await run.partial.reset();
  run.checkpointer.rebase();
  run.tally.meter.reset();
  if (report || discardedBytes > 0) {
    run.emit({ event: 'restart', id: run.artifact.id, reason, discardedBytes, bytesKept: 0 });
  }
}
