import type { Segment, SourceSpan } from '../store/resume-record.js';

/**
 * Which source wrote which bytes of a partial file, as sorted, non-overlapping spans. A SHA-256
 * has no per-chunk proof, so when the digest of a file joined from several sources does not match,
 * these spans are all there is to go on: they say whose bytes to discard first (see
 * src/download/mismatch-blame.ts).
 *
 * @example
 * ```ts
 * const spans = new SourceSpans();
 * spans.assign(0, 100, 'https://mirror.lan/models');
 * spans.assign(100, 200, 'https://huggingface.co');
 * spans.bytesBySource(); // { 'https://mirror.lan/models': 100, 'https://huggingface.co': 100 }
 * ```
 */
export class SourceSpans {
  private spans: SourceSpan[] = [];

  constructor(initial: readonly SourceSpan[] = []) {
    for (const span of initial) this.assign(span.start, span.end, span.source);
  }

  get all(): readonly SourceSpan[] {
    return this.spans;
  }

  /** Records that `[start, end)` now holds bytes from `source`, replacing whatever held them. */
  assign(start: number, end: number, source: string): void {
    if (end <= start) return;
    const kept: SourceSpan[] = [];
    for (const span of this.spans) {
      if (span.end <= start || span.start >= end) kept.push(span);
      else {
        if (span.start < start) kept.push({ ...span, end: start });
        if (span.end > end) kept.push({ ...span, start: end });
      }
    }
    kept.push({ start, end, source });
    kept.sort((a, b) => a.start - b.start);
    this.spans = mergeNeighbours(kept);
  }

  /** Forgets every span: the file starts over from zero. */
  clear(): void {
    this.spans = [];
  }

  /** The spans of `source`. */
  of(source: string): SourceSpan[] {
    return this.spans.filter((span) => span.source === source);
  }

  /** Forgets what `source` wrote. */
  drop(source: string): void {
    this.spans = this.spans.filter((span) => span.source !== source);
  }

  /** Bytes per source. */
  bytesBySource(): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const span of this.spans) {
      totals[span.source] = (totals[span.source] ?? 0) + span.end - span.start;
    }
    return totals;
  }

  /**
   * The spans cut down to the bytes `segments` claim (`[start, start + done)` of each): what a
   * resume record may say about bytes it vouches for.
   */
  within(segments: readonly Segment[]): SourceSpan[] {
    const result: SourceSpan[] = [];
    for (const segment of segments) {
      const claimedEnd = segment.start + segment.done;
      for (const span of this.spans) {
        const start = Math.max(span.start, segment.start);
        const end = Math.min(span.end, claimedEnd);
        if (start < end) result.push({ start, end, source: span.source });
      }
    }
    return mergeNeighbours(result);
  }
}

function mergeNeighbours(spans: readonly SourceSpan[]): SourceSpan[] {
  const merged: SourceSpan[] = [];
  for (const span of spans) {
    const previous = merged[merged.length - 1];
    if (previous && previous.end === span.start && previous.source === span.source) previous.end = span.end;
    else merged.push({ ...span });
  }
  return merged;
}
