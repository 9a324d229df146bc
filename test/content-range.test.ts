import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InstallError } from '../src/errors.js';
import {
  formatContentRange,
  parseContentRange,
  parseUnsatisfiedRange,
  type ContentRange,
} from '../src/http/content-range.js';

const MAX = Number.MAX_SAFE_INTEGER;

function assertRangeError(fn: () => unknown, value: string | undefined): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InstallError, `expected an InstallError, got ${String(error)}`);
    assert.equal(error.code, 'RANGE_NOT_HONOURED');
    assert.equal(error.details.contentRange, value);
    return true;
  });
}

/** A valid triple: first <= last < total <= MAX_SAFE_INTEGER. */
const validRange: fc.Arbitrary<ContentRange> = fc
  .tuple(fc.maxSafeNat(), fc.maxSafeNat(), fc.maxSafeNat())
  .map(([a, b, c]) => [a, b, c].sort((x, y) => x - y) as [number, number, number])
  .filter(([, last, total]) => total > last)
  .map(([first, last, total]) => ({ first, last, total }));

describe('parseContentRange', () => {
  it('parses a well-formed range', () => {
    assert.deepEqual(parseContentRange('bytes 100-199/1000'), { first: 100, last: 199, total: 1000 });
    assert.deepEqual(parseContentRange('bytes 0-0/1'), { first: 0, last: 0, total: 1 });
  });

  it('accepts the unit in any case (RFC 9110 §14.1)', () => {
    assert.deepEqual(parseContentRange('BYTES 0-9/10'), { first: 0, last: 9, total: 10 });
    assert.deepEqual(parseContentRange('Bytes 0-9/10'), { first: 0, last: 9, total: 10 });
  });

  it('accepts leading zeros, which 1*DIGIT allows, without changing the value', () => {
    assert.deepEqual(parseContentRange('bytes 007-010/0000000000000000000000011'), {
      first: 7,
      last: 10,
      total: 11,
    });
  });

  it('ignores whitespace around the field value, which is not part of it (§5.5)', () => {
    assert.deepEqual(parseContentRange(' \tbytes 0-9/10\t '), { first: 0, last: 9, total: 10 });
  });

  it('accepts MAX_SAFE_INTEGER and refuses one more, however it is spelled', () => {
    assert.deepEqual(parseContentRange(`bytes 0-${MAX - 1}/${MAX}`), {
      first: 0,
      last: MAX - 1,
      total: MAX,
    });
    // Number('9007199254740993') === 9007199254740992: the check must happen on the digits.
    for (const total of ['9007199254740992', '9007199254740993', '00009007199254740993', '1'.repeat(40)]) {
      const value = `bytes 0-1/${total}`;
      assertRangeError(() => parseContentRange(value), value);
    }
  });

  it('refuses a missing header', () => {
    assertRangeError(() => parseContentRange(undefined), undefined);
  });

  it('refuses an unknown total: a 206 must state the complete length', () => {
    assertRangeError(() => parseContentRange('bytes 0-9/*'), 'bytes 0-9/*');
  });

  it('refuses the unsatisfied-range form in a 206', () => {
    assertRangeError(() => parseContentRange('bytes */10'), 'bytes */10');
  });

  it('refuses ranges that end before they start or reach past the total', () => {
    for (const value of ['bytes 10-9/100', 'bytes 0-10/10', 'bytes 0-11/10', 'bytes 5-5/5']) {
      assertRangeError(() => parseContentRange(value), value);
    }
  });

  it('refuses every syntactic deviation', () => {
    const malformed = [
      '',
      'bytes',
      'bytes ',
      'bytes 0-9',
      'bytes 0-/10',
      'bytes -9/10',
      'bytes=0-9/10',
      'bytes  0-9/10',
      'bytes\t0-9/10',
      'bytes0-9/10',
      'bytes 0 -9/10',
      'bytes 0- 9/10',
      'bytes 0-9 /10',
      'bytes 0-9/ 10',
      'bytes +0-9/10',
      'bytes 0-+9/10',
      'bytes 0-9/+10',
      'bytes -0-9/10',
      'bytes 0x0-0x9/10',
      'bytes 0.0-9/10',
      'bytes 1e1-20/30',
      'bytes ０-９/10', // full-width digits
      'bytes 0-9/10, bytes 10-19/20',
      'bytes 0-9/10/10',
      'items 0-9/10',
      'b 0-9/10',
      'bytes 0-9/10\n',
      'byte\u017f 0-9/10', // long s: case-insensitive matching must not fold it to 's'
    ];
    for (const value of malformed) assertRangeError(() => parseContentRange(value), value);
  });

  it('round-trips every valid triple through formatContentRange', () => {
    fc.assert(
      fc.property(validRange, (range) => {
        assert.deepEqual(parseContentRange(formatContentRange(range)), range);
      }),
    );
  });

  it('never throws anything but RANGE_NOT_HONOURED and never returns an impossible range', () => {
    // Mostly built from the pieces of the grammar, so that many inputs are nearly valid.
    const piece = fc.oneof(
      fc.constantFrom('bytes', 'BYTES', 'byte', ' ', '\t', '-', '/', '*', '+', '0', '00', '.', 'e'),
      fc.constantFrom(String(MAX), String(MAX + 1), '9007199254740993', '18446744073709551616'),
      fc.nat().map(String),
      fc.string({ maxLength: 3 }),
    );
    // Digit strings around the precision limit, where a careless Number() silently rounds.
    const digits = fc.oneof(
      fc.nat({ max: 1000 }).map(String),
      fc.bigInt({ min: BigInt(MAX) - 10n, max: BigInt(MAX) + 10n }).map(String),
      fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
      fc.tuple(fc.integer({ min: 1, max: 20 }), fc.nat()).map(([n, v]) => '0'.repeat(n) + String(v)),
    );
    const header = fc.oneof(
      fc.array(piece, { maxLength: 10 }).map((parts) => parts.join('')),
      fc.tuple(piece, piece, piece).map(([a, b, c]) => `bytes ${a}-${b}/${c}`),
      fc.tuple(digits, digits, digits).map(([a, b, c]) => `bytes ${a}-${b}/${c}`),
      fc.string(),
    );
    fc.assert(
      fc.property(header, (value) => {
        let range: ContentRange;
        try {
          range = parseContentRange(value);
        } catch (error) {
          assert.ok(error instanceof InstallError);
          assert.equal(error.code, 'RANGE_NOT_HONOURED');
          return;
        }
        for (const n of [range.first, range.last, range.total]) assert.ok(Number.isSafeInteger(n) && n >= 0);
        assert.ok(range.last >= range.first);
        assert.ok(range.total > range.last);
        // An oracle with exact arithmetic: the numbers must be the digits, not a rounding of them.
        const match = /^[ \t]*bytes ([0-9]+)-([0-9]+)\/([0-9]+)[ \t]*$/i.exec(value);
        assert.ok(match);
        assert.deepEqual(
          [BigInt(match[1] ?? ''), BigInt(match[2] ?? ''), BigInt(match[3] ?? '')],
          [BigInt(range.first), BigInt(range.last), BigInt(range.total)],
        );
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts digit triples exactly when exact arithmetic says they are a valid range', () => {
    const digits = fc.oneof(
      fc.nat({ max: 1000 }).map(String),
      fc.bigInt({ min: BigInt(MAX) - 10n, max: BigInt(MAX) + 10n }).map(String),
      fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
      fc.tuple(fc.integer({ min: 1, max: 20 }), fc.nat()).map(([n, v]) => '0'.repeat(n) + String(v)),
    );
    fc.assert(
      fc.property(digits, digits, digits, (a, b, c) => {
        const value = `bytes ${a}-${b}/${c}`;
        const [first, last, total] = [BigInt(a), BigInt(b), BigInt(c)];
        if (first <= last && last < total && total <= BigInt(MAX)) {
          assert.deepEqual(parseContentRange(value), {
            first: Number(first),
            last: Number(last),
            total: Number(total),
          });
        } else {
          assertRangeError(() => parseContentRange(value), value);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('handles mutations of a valid value as RFC 9110 says', () => {
    const numberSlot = fc.constantFrom(0, 1, 2);
    fc.assert(
      fc.property(validRange, numberSlot, fc.integer({ min: 1, max: 30 }), (range, slot, zeros) => {
        const numbers = [range.first, range.last, range.total].map(String);
        const build = (n: string[]): string => `bytes ${n[0]}-${n[1]}/${n[2]}`;

        // Leading zeros: still valid, same value.
        const padded = numbers.map((n, i) => (i === slot ? '0'.repeat(zeros) + n : n));
        assert.deepEqual(parseContentRange(build(padded)), range);

        // A sign in front of any number: invalid.
        for (const sign of ['+', '-']) {
          const signed = build(numbers.map((n, i) => (i === slot ? sign + n : n)));
          assertRangeError(() => parseContentRange(signed), signed);
        }

        // A space inside the value, anywhere after the unit's own space: invalid.
        const valid = build(numbers);
        for (let at = 'bytes '.length; at < valid.length; at++) {
          const spaced = `${valid.slice(0, at)} ${valid.slice(at)}`;
          assertRangeError(() => parseContentRange(spaced), spaced);
        }

        // An unknown total: invalid in a 206.
        const starred = build([numbers[0] ?? '', numbers[1] ?? '', '*']);
        assertRangeError(() => parseContentRange(starred), starred);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseUnsatisfiedRange', () => {
  it('reads the complete length of a 416', () => {
    assert.equal(parseUnsatisfiedRange('bytes */1000'), 1000);
    assert.equal(parseUnsatisfiedRange('Bytes */0'), 0);
    assert.equal(parseUnsatisfiedRange('bytes */007'), 7);
  });

  it('returns undefined when the header is missing, which RFC 9110 allows', () => {
    assert.equal(parseUnsatisfiedRange(undefined), undefined);
  });

  it('refuses a malformed header instead of treating it as missing', () => {
    for (const value of ['', 'bytes */', 'bytes * /10', 'bytes */-1', 'bytes 0-9/10', 'bytes */1e3', `bytes */${MAX + 1}`]) {
      assertRangeError(() => parseUnsatisfiedRange(value), value);
    }
  });
});

describe('formatContentRange', () => {
  it('formats a range', () => {
    assert.equal(formatContentRange({ first: 0, last: 99, total: 1000 }), 'bytes 0-99/1000');
  });

  it('refuses to format a range that could not be parsed back', () => {
    for (const range of [
      { first: -1, last: 0, total: 1 },
      { first: 5, last: 4, total: 10 },
      { first: 0, last: 9, total: 9 },
      { first: 0.5, last: 1, total: 2 },
      { first: 0, last: 1, total: MAX + 1 },
    ]) {
      assert.throws(() => formatContentRange(range), RangeError);
    }
  });
});
