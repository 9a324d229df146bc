import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_MAX_RETRY_AFTER_MS, parseRetryAfter, retryDelayMs } from '../src/http/retry-delay.js';

const fixed = (value: number) => (): number => value;

describe('retryDelayMs', () => {
  it('doubles the ceiling with every attempt and waits at least half of it', () => {
    const base = { baseMs: 100, maxMs: 100_000 };
    assert.equal(retryDelayMs({ ...base, attempt: 1, random: fixed(0) }), 50);
    assert.equal(retryDelayMs({ ...base, attempt: 1, random: fixed(0.999_999) }), 100);
    assert.equal(retryDelayMs({ ...base, attempt: 2, random: fixed(0) }), 100);
    assert.equal(retryDelayMs({ ...base, attempt: 3, random: fixed(0) }), 200);
    assert.equal(retryDelayMs({ ...base, attempt: 4, random: fixed(0.5) }), 600);
  });

  it('never exceeds maxMs, even after very many attempts', () => {
    for (const attempt of [10, 60, 1100, Number.MAX_SAFE_INTEGER]) {
      assert.equal(retryDelayMs({ attempt, baseMs: 1000, maxMs: 30_000, random: fixed(0) }), 15_000);
      assert.equal(retryDelayMs({ attempt, baseMs: 1000, maxMs: 30_000, random: fixed(0.999_999_9) }), 30_000);
    }
  });

  it('waits nothing when the base is zero, rather than NaN', () => {
    assert.equal(retryDelayMs({ attempt: 5000, baseMs: 0, maxMs: 30_000 }), 0);
  });

  it('stays within [ceiling / 2, ceiling] for any attempt and random source', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.oneof(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double()),
        (attempt, baseMs, maxMs, r) => {
          const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 1023));
          const delay = retryDelayMs({ attempt, baseMs, maxMs, random: fixed(r) });
          assert.ok(Number.isInteger(delay));
          assert.ok(delay >= Math.floor(ceiling / 2) && delay <= Math.ceil(ceiling), `${delay} vs ${ceiling}`);
        },
      ),
    );
  });

  it('spreads clients out: the random half is used', () => {
    const delays = new Set<number>();
    for (let i = 0; i < 50; i++) delays.add(retryDelayMs({ attempt: 3, baseMs: 1000, maxMs: 60_000 }));
    assert.ok(delays.size > 10);
  });

  it('lets Retry-After win over the backoff, in both directions', () => {
    const options = { attempt: 8, baseMs: 1000, maxMs: 60_000, random: fixed(0) };
    assert.equal(retryDelayMs({ ...options, retryAfterMs: 2_000 }), 2_000);
    assert.equal(retryDelayMs({ ...options, attempt: 1, retryAfterMs: 45_000 }), 45_000);
    assert.equal(retryDelayMs({ ...options, retryAfterMs: 0 }), 0);
  });

  it('caps Retry-After at maxRetryAfterMs, one minute by default', () => {
    const options = { attempt: 1, baseMs: 1000, maxMs: 5_000 };
    assert.equal(DEFAULT_MAX_RETRY_AFTER_MS, 60_000);
    assert.equal(retryDelayMs({ ...options, retryAfterMs: 3_600_000 }), 60_000);
    assert.equal(retryDelayMs({ ...options, retryAfterMs: 3_600_000, maxRetryAfterMs: 10_000 }), 10_000);
    assert.equal(retryDelayMs({ ...options, retryAfterMs: Number.MAX_SAFE_INTEGER }), 60_000);
  });

  it('refuses inputs that can only be bugs', () => {
    const ok = { attempt: 1, baseMs: 100, maxMs: 1000 };
    for (const bad of [
      { ...ok, attempt: 0 },
      { ...ok, attempt: 1.5 },
      { ...ok, attempt: Number.NaN },
      { ...ok, baseMs: -1 },
      { ...ok, maxMs: Number.POSITIVE_INFINITY },
      { ...ok, retryAfterMs: -1 },
      { ...ok, retryAfterMs: Number.NaN },
      { ...ok, maxRetryAfterMs: -5 },
    ]) {
      assert.throws(() => retryDelayMs(bad), RangeError, JSON.stringify(bad));
    }
  });
});

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  const now = Date.UTC(2025, 0, 15, 12, 0, 0);

  it('reads delay-seconds', () => {
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('007', now), 7_000);
    assert.equal(parseRetryAfter(' 5 ', now), 5_000);
  });

  it('clamps absurd delay-seconds to a finite number', () => {
    assert.equal(parseRetryAfter('9'.repeat(400), now), Number.MAX_SAFE_INTEGER);
  });

  it('reads an HTTP-date as the time left until then', () => {
    assert.equal(parseRetryAfter('Wed, 15 Jan 2025 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wednesday, 15-Jan-25 12:01:00 GMT', now), 60_000);
    assert.equal(parseRetryAfter('Wed Jan 15 12:00:01 2025', now), 1_000);
  });

  it('returns 0 for a date that has passed', () => {
    assert.equal(parseRetryAfter('Wed, 15 Jan 2025 11:59:00 GMT', now), 0);
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 0);
  });

  it('returns undefined for anything else', () => {
    for (const value of [undefined, '', '-1', '+5', '1.5', '1e3', '5 s', 'soon', '2025-01-15T12:00:30Z', '0x10']) {
      assert.equal(parseRetryAfter(value, now), undefined, String(value));
    }
  });

  it('never throws and never returns a negative or non-finite delay', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.nat().map(String), fc.integer().map(String)), (value) => {
        const delay = parseRetryAfter(value, now);
        assert.ok(delay === undefined || (Number.isFinite(delay) && delay >= 0));
      }),
    );
  });
});
