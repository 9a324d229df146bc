import type { Segment } from '../store/resume-record.js';
import type { WrittenRanges } from '../hash/prefix-hasher.js';

/**
 * One byte range of the file in memory during a run. `durable <= written <= received`:
 * received bytes came off the network, written ones are in the file, durable ones were
 * fdatasync'ed and may be claimed by the resume record.
 */
export interface LiveSegment {
  start: number;
  end: number;
  durable: number;
  written: number;
  received: number;
  /** True while a connection is streaming into this segment. */
  active: boolean;
}

/**
 * The segments of one partial file: which bytes are where, and how to split work between
 * connections. They always partition `[0, size)` in order, so the resume record made from them
 * does too.
 */
export class SegmentTable implements WrittenRanges {
  private list: LiveSegment[];

  constructor(
    private readonly size: number,
    segments: readonly Segment[],
  ) {
    this.list = segments.map((s) => ({ start: s.start, end: s.end, durable: s.done, written: s.done, received: s.done, active: false }));
  }

  get all(): readonly LiveSegment[] {
    return this.list;
  }

  /** Bytes written into the file. */
  get writtenBytes(): number {
    return this.list.reduce((sum, s) => sum + s.written, 0);
  }

  get durableBytes(): number {
    return this.list.reduce((sum, s) => sum + s.durable, 0);
  }

  get complete(): boolean {
    return this.list.every((s) => s.written === s.end - s.start);
  }

  /** Forgets every byte: the file starts over from zero as one segment. */
  resetToEmpty(): void {
    this.list = [{ start: 0, end: this.size, durable: 0, written: 0, received: 0, active: false }];
  }

  /** Drops bytes received but never written (a failed stream) so that they are fetched again. */
  forgetUnwritten(): void {
    for (const segment of this.list) {
      segment.received = segment.written;
      segment.active = false;
    }
  }

  /**
   * Turns the written bytes in `[start, end)` back into a hole to fetch again, splitting the
   * segments around it so that the bytes on either side stay claimed. Only between attempts, when
   * no connection is streaming. Returns how many written bytes were forgotten.
   */
  forgetRange(start: number, end: number): number {
    let forgotten = 0;
    const result: LiveSegment[] = [];
    for (const segment of this.list) {
      const writtenEnd = segment.start + segment.written;
      const from = Math.max(start, segment.start);
      const to = Math.min(end, writtenEnd);
      if (from >= to) {
        result.push(segment);
        continue;
      }
      forgotten += to - from;
      if (from > segment.start) {
        const length = from - segment.start;
        result.push({ start: segment.start, end: from, durable: Math.min(segment.durable, length), written: length, received: length, active: false });
      }
      result.push({ start: from, end: to, durable: 0, written: 0, received: 0, active: false });
      if (to < segment.end) {
        const written = Math.max(0, writtenEnd - to);
        const durable = Math.max(0, segment.start + segment.durable - to);
        result.push({ start: to, end: segment.end, durable, written, received: written, active: false });
      }
    }
    this.list = result;
    return forgotten;
  }

  /** The durable state, for the resume record. */
  durableSnapshot(): Segment[] {
    return this.list.map((s) => ({ start: s.start, end: s.end, done: s.durable }));
  }

  /** The written state, taken just before an fdatasync makes it durable. */
  writtenSnapshot(): Segment[] {
    return this.list.map((s) => ({ start: s.start, end: s.end, done: s.written }));
  }

  /** Marks as durable what a completed fdatasync covered, matching segments by start. */
  markDurable(snapshot: readonly Segment[]): void {
    for (const saved of snapshot) {
      const live = this.list.find((s) => s.start === saved.start);
      if (live) live.durable = Math.max(live.durable, Math.min(saved.done, live.end - live.start));
    }
  }

  /** End of the bytes written without a gap from offset 0: how far the file can be hashed. */
  contiguousWrittenEnd(): number {
    let end = 0;
    for (const segment of this.list) {
      if (segment.start !== end) break;
      end = segment.start + segment.written;
      if (segment.written < segment.end - segment.start) break;
    }
    return end;
  }

  writtenEndAt(offset: number): number {
    const segment = this.list.find((s) => s.start <= offset && offset < s.end);
    if (!segment) return offset;
    return Math.max(offset, segment.start + segment.written);
  }

  /** The first segment with bytes still to fetch and no connection on it. */
  firstIdle(): LiveSegment | undefined {
    return this.list.find((s) => !s.active && s.received < s.end - s.start);
  }

  /**
   * Takes work for another connection, in file order so that the hashed prefix stays close behind
   * the download: the first unclaimed piece, or else a piece cut from the front of the range a
   * connection still has ahead of it (the rest of that range becomes unclaimed, to be handed out
   * piece by piece). Near the end, when little is left, the far half of the widest range. Nothing
   * when no remaining range is worth a connection of its own.
   */
  claimForNewConnection(pieceBytes: number, minSplitBytes: number): LiveSegment | undefined {
    const idle = this.firstIdle();
    if (idle) {
      idle.active = true;
      this.limitToPiece(idle, pieceBytes, minSplitBytes);
      return idle;
    }
    let widest: LiveSegment | undefined;
    for (const segment of this.list) {
      if (!segment.active) continue;
      if (!widest || remaining(segment) > remaining(widest)) widest = segment;
    }
    if (!widest || remaining(widest) < 2 * minSplitBytes) return undefined;
    const from = widest.start + widest.received;
    const ahead = widest.end - from;
    const split = ahead > 2 * pieceBytes ? from + pieceBytes : from + alignDown(Math.floor(ahead / 2), 64 * 1024);
    const tail: LiveSegment = { start: split, end: widest.end, durable: 0, written: 0, received: 0, active: true };
    widest.end = split;
    this.list.splice(this.list.indexOf(widest) + 1, 0, tail);
    this.limitToPiece(tail, pieceBytes, minSplitBytes);
    return tail;
  }

  /**
   * Shortens a claimed segment to one piece past what it already has, leaving the rest as an
   * unclaimed segment of its own, unless that rest would be too small to be worth a request.
   */
  private limitToPiece(segment: LiveSegment, pieceBytes: number, minSplitBytes: number): void {
    const pieceEnd = segment.start + segment.received + pieceBytes;
    if (segment.end - pieceEnd < minSplitBytes) return;
    const rest: LiveSegment = { start: pieceEnd, end: segment.end, durable: 0, written: 0, received: 0, active: false };
    segment.end = pieceEnd;
    this.list.splice(this.list.indexOf(segment) + 1, 0, rest);
  }

  /**
   * Merges neighbours that are complete and durable into one segment, so that a file fetched in
   * many pieces keeps a short resume record.
   */
  mergeCompleted(): void {
    const merged: LiveSegment[] = [];
    for (const segment of this.list) {
      const previous = merged[merged.length - 1];
      if (previous && isSettled(previous) && isSettled(segment)) {
        previous.end = segment.end;
        previous.durable += segment.durable;
        previous.written += segment.written;
        previous.received += segment.received;
      } else {
        merged.push(segment);
      }
    }
    this.list = merged;
  }
}

function isSettled(segment: LiveSegment): boolean {
  const length = segment.end - segment.start;
  return !segment.active && segment.durable === length && segment.written === length;
}

function remaining(segment: LiveSegment): number {
  return segment.end - segment.start - segment.received;
}

function alignDown(value: number, alignment: number): number {
  return value < alignment ? value : value - (value % alignment);
}
