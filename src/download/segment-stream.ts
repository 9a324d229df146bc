import { InstallError } from '../errors.js';
import { networkError } from '../http/network-error.js';
import { fsError } from '../store/fs-error.js';
import type { SourceLocation, SourceResponse } from '../sources/source.js';
import type { RangeRequest } from './check-response.js';
import { PositionalWriter } from './positional-writer.js';
import type { LiveSegment } from './segments.js';
import type { TransferRun } from './transfer-run.js';

/** A request whose response may be streamed into `segment`. */
export interface OpenedSegment {
  segment: LiveSegment;
  response: SourceResponse;
  request: RangeRequest;
  location: SourceLocation;
}

/**
 * Streams a response body into its segment. Bytes are counted here, not trusted from headers:
 * a body that goes past what it promised is refused at the first extra byte (rule 10), a body
 * that ends early is a transient failure whose bytes are kept.
 */
export async function streamIntoSegment(run: TransferRun, opened: OpenedSegment, signal: AbortSignal): Promise<void> {
  const { segment, response, request, location } = opened;
  const { partial, checkpointer, artifact } = run;
  const writer = new PositionalWriter(
    partial.file,
    (length, at) => {
      segment.written += length;
      partial.spans.assign(at, at + length, location.source);
      run.tally.written(location.source, length, partial.segments.writtenBytes);
      void partial.hasher.catchUp();
      checkpointer.afterWrite();
    },
    (error) => fsError(error, 'write the partial download', partial.partialPath, artifact.id),
  );
  const promisedEnd = request.last + 1;
  let position = segment.start + segment.received;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (checkpointer.backgroundFailure !== undefined) throw checkpointer.backgroundFailure;
      if (position + chunk.length > promisedEnd) {
        throw new InstallError('SIZE_MISMATCH', `The server sent more than the ${promisedEnd - request.first} bytes it announced (manifest size ${artifact.size})`, {
          artifactId: artifact.id,
          details: { expected: artifact.size, foundAtLeast: position + chunk.length },
        });
      }
      // A connection whose segment was split stops at the new boundary: the rest is another's.
      const room = segment.end - position;
      const data = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (data.length > 0) {
        partial.hasher.offer(position, data);
        segment.received += data.length;
        position += data.length;
        await writer.push(position - data.length, data);
        await checkpointer.keepDurablePointClose();
      }
      if (position >= segment.end && segment.end < promisedEnd) break;
    }
    await writer.flush();
  } catch (error) {
    if (error instanceof InstallError) {
      // A refused body (too long) or a failing disk: what is still queued is worth nothing.
      await writer.abandon();
    } else {
      // The connection failed or the attempt was cancelled: the bytes that arrived before are
      // good, in order and counted, so they are kept and the next attempt resumes after them
      // (rule 10). Dropping them would re-download up to a write batch per failure, and all of
      // a small file, which then restarts from zero without Range.
      try {
        await writer.flush();
      } catch (writeError) {
        await writer.abandon();
        throw writeError;
      }
    }
    throw networkError(error, response.url, signal);
  } finally {
    segment.active = false;
    if (!response.body.destroyed) response.body.destroy();
  }
  if (segment.start + segment.written < segment.end && !signal.aborted) {
    throw new InstallError('NETWORK', `The response ended after ${position - request.first} of ${promisedEnd - request.first} bytes`, {
      artifactId: artifact.id,
      details: { received: position - request.first, expected: promisedEnd - request.first },
    });
  }
}
