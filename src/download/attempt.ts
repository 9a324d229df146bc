import type { SourceLocation } from '../sources/source.js';
import { asError } from './checkpointer.js';
import { mayUseMoreConnections, openSegment, startOverFromZero } from './range-request.js';
import { streamIntoSegment } from './segment-stream.js';
import type { TransferRun } from './transfer-run.js';

/**
 * One attempt at the missing bytes, from one location: a lead request for the first missing
 * bytes, then, when the location has shown it honours ranges under a strong validator, more
 * connections that take over the rest of the file piece by piece. The first failure of any
 * connection ends the whole attempt (the others stop, their written bytes are kept).
 */
export async function runAttempt(run: TransferRun, location: SourceLocation, attempt: number, outer: AbortSignal): Promise<void> {
  const { partial } = run;
  if (run.rangesDisabled && (partial.segments.writtenBytes > 0 || partial.segments.all.length > 1)) {
    await startOverFromZero(run, 'the server does not honour byte ranges; downloading from zero', false);
  }
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(outer.reason);
  outer.addEventListener('abort', onOuterAbort, { once: true });
  const streams: Array<Promise<void>> = [];
  let firstFailure: Error | undefined;
  const track = (stream: Promise<void>): void => {
    streams.push(
      stream.catch((error: unknown) => {
        firstFailure ??= asError(error);
        controller.abort(error);
      }),
    );
  };
  try {
    const lead = partial.segments.firstIdle();
    if (!lead) return;
    lead.active = true;
    const opened = await openSegment(run, location, lead, controller.signal, true);
    if (opened === 'complete') return;
    const connections = mayUseMoreConnections(run, location, opened.response) ? run.settings.connections : 1;
    run.emit({
      event: 'start',
      id: run.artifact.id,
      offset: partial.segments.writtenBytes,
      total: run.artifact.size,
      attempt,
      connections,
      source: location.source,
    });
    // Once its own segment is done the lead takes the next unfinished one: a record from a
    // segmented run can leave several, and with one connection nobody else would fetch them.
    track(streamIntoSegment(run, opened, controller.signal).then(() => helperConnection(run, location, controller.signal)));
    for (let extra = 1; extra < connections; extra++) track(helperConnection(run, location, controller.signal));
    await Promise.all(streams);
    if (firstFailure !== undefined) throw firstFailure;
  } catch (error) {
    firstFailure ??= asError(error);
    controller.abort(error);
    await Promise.all(streams);
    throw firstFailure;
  } finally {
    outer.removeEventListener('abort', onOuterAbort);
  }
}

/** A further connection: takes a piece of the file, fetches it, and takes the next until none is left. */
async function helperConnection(run: TransferRun, location: SourceLocation, signal: AbortSignal): Promise<void> {
  const { connections, minSegmentBytes } = run.settings;
  for (;;) {
    if (signal.aborted) return;
    const segment = run.partial.segments.claimForNewConnection(pieceBytesFor(run.artifact.size, connections, minSegmentBytes), minSegmentBytes);
    if (!segment) return;
    const opened = await openSegment(run, location, segment, signal, false);
    if (opened === 'complete') continue;
    await streamIntoSegment(run, opened, signal);
  }
}

/**
 * How much of a file one request of a segmented download asks for: small enough that the
 * contiguous, hashable prefix trails the download front by a few pieces, large enough that the
 * time to first byte of each request stays small against its transfer time.
 */
export function pieceBytesFor(size: number, connections: number, minSegmentBytes: number): number {
  return Math.min(64 * 1024 * 1024, Math.max(minSegmentBytes, Math.round(size / (connections * 4))));
}
