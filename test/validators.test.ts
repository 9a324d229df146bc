import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  chooseIfRange,
  isStrongEtag,
  isWeakEtag,
  parseHttpDate,
  strongEtagEquals,
} from '../src/http/validators.js';

// RFC 9110 §5.6.7's own example, in its three forms.
const IMF = 'Sun, 06 Nov 1994 08:49:37 GMT';
const RFC850 = 'Sunday, 06-Nov-94 08:49:37 GMT';
const ASCTIME = 'Sun Nov  6 08:49:37 1994';
const EXAMPLE_MS = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('isWeakEtag / isStrongEtag', () => {
  it('tells weak from strong by the case-sensitive W/ prefix', () => {
    assert.equal(isWeakEtag('W/"abc"'), true);
    assert.equal(isWeakEtag('"abc"'), false);
    assert.equal(isStrongEtag('"abc"'), true);
    assert.equal(isStrongEtag('W/"abc"'), false);
    // A lowercase w/ is not the weak marker, and not a valid strong tag either.
    assert.equal(isWeakEtag('w/"abc"'), false);
    assert.equal(isStrongEtag('w/"abc"'), false);
  });

  it('accepts the full etagc range, including the empty tag and obs-text', () => {
    assert.equal(isStrongEtag('""'), true);
    assert.equal(isStrongEtag('"xyzzy-123_~!#"'), true);
    assert.equal(isStrongEtag('"\u00e9t\u00e9"'), true); // bytes 0x80-0xFF arrive as latin1
  });

  it('refuses malformed tags as strong validators', () => {
    for (const etag of ['abc', '"abc', 'abc"', '"a"b"', '"a b"', '"a\tb"', ' "abc"', '"abc" ', '"\u0100"', '']) {
      assert.equal(isStrongEtag(etag), false, etag);
    }
  });
});

describe('strongEtagEquals (RFC 9110 §8.8.3.2)', () => {
  it('follows the table of the RFC', () => {
    assert.equal(strongEtagEquals('W/"1"', 'W/"1"'), false);
    assert.equal(strongEtagEquals('W/"1"', 'W/"2"'), false);
    assert.equal(strongEtagEquals('W/"1"', '"1"'), false);
    assert.equal(strongEtagEquals('"1"', '"1"'), true);
  });

  it('is false for anything missing, malformed or merely similar', () => {
    assert.equal(strongEtagEquals('"1"', undefined), false);
    assert.equal(strongEtagEquals(undefined, undefined), false);
    assert.equal(strongEtagEquals('abc', 'abc'), false);
    assert.equal(strongEtagEquals('"ABC"', '"abc"'), false);
    assert.equal(strongEtagEquals('"1"', '1'), false);
  });

  it('is symmetric and implies identity', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        assert.equal(strongEtagEquals(a, b), strongEtagEquals(b, a));
        if (strongEtagEquals(a, b)) assert.equal(a, b);
      }),
    );
  });
});

describe('chooseIfRange (RFC 9110 §13.1.5)', () => {
  it('returns a strong ETag byte for byte, quotes included', () => {
    assert.equal(chooseIfRange({ etag: '"abc-1"' }), '"abc-1"');
    assert.equal(
      chooseIfRange({ etag: '"abc-1"', lastModified: IMF, date: 'Mon, 07 Nov 1994 08:49:37 GMT' }),
      '"abc-1"',
    );
  });

  it('never sends a weak ETag, and then not the date either', () => {
    assert.equal(chooseIfRange({ etag: 'W/"abc"' }), undefined);
    assert.equal(
      chooseIfRange({ etag: 'W/"abc"', lastModified: IMF, date: 'Mon, 07 Nov 1994 08:49:37 GMT' }),
      undefined,
    );
  });

  it('does not fall back to the date when the ETag is malformed', () => {
    assert.equal(
      chooseIfRange({ etag: 'abc', lastModified: IMF, date: 'Mon, 07 Nov 1994 08:49:37 GMT' }),
      undefined,
    );
  });

  it('uses Last-Modified only when Date is at least one second later (§8.8.2.2)', () => {
    assert.equal(chooseIfRange({ lastModified: IMF, date: 'Sun, 06 Nov 1994 08:49:38 GMT' }), IMF);
    assert.equal(chooseIfRange({ lastModified: IMF, date: 'Sun, 06 Nov 1994 08:49:37 GMT' }), undefined);
    assert.equal(chooseIfRange({ lastModified: IMF, date: 'Sun, 06 Nov 1994 08:49:36 GMT' }), undefined);
  });

  it('returns Last-Modified unchanged, whichever date form it used', () => {
    const later = 'Mon, 07 Nov 1994 00:00:00 GMT';
    assert.equal(chooseIfRange({ lastModified: RFC850, date: later }), RFC850);
    assert.equal(chooseIfRange({ lastModified: ASCTIME, date: later }), ASCTIME);
  });

  it('treats a missing or unparsable date as not strong', () => {
    assert.equal(chooseIfRange({ lastModified: IMF }), undefined);
    assert.equal(chooseIfRange({ date: IMF }), undefined);
    assert.equal(chooseIfRange({}), undefined);
    assert.equal(chooseIfRange({ lastModified: '1', date: 'Mon, 07 Nov 1994 08:49:37 GMT' }), undefined);
    assert.equal(chooseIfRange({ lastModified: IMF, date: '2030-01-01T00:00:00Z' }), undefined);
  });
});

describe('parseHttpDate (RFC 9110 §5.6.7)', () => {
  it('reads all three forms of the same instant', () => {
    assert.equal(parseHttpDate(IMF), EXAMPLE_MS);
    assert.equal(parseHttpDate(RFC850, Date.UTC(2024, 0, 1)), EXAMPLE_MS);
    assert.equal(parseHttpDate(ASCTIME), EXAMPLE_MS);
    assert.equal(parseHttpDate('Sun Nov 16 08:49:37 1994'), Date.UTC(1994, 10, 16, 8, 49, 37));
  });

  it('places a two-digit year no more than 50 years ahead', () => {
    const now = Date.UTC(2025, 5, 1);
    assert.equal(parseHttpDate('Monday, 01-Jan-74 00:00:00 GMT', now), Date.UTC(2074, 0, 1));
    assert.equal(parseHttpDate('Monday, 01-Jan-76 00:00:00 GMT', now), Date.UTC(1976, 0, 1));
    assert.equal(parseHttpDate('Monday, 01-Jan-25 00:00:00 GMT', now), Date.UTC(2025, 0, 1));
  });

  it('validates the calendar', () => {
    assert.equal(parseHttpDate('Thu, 29 Feb 2024 00:00:00 GMT'), Date.UTC(2024, 1, 29));
    assert.equal(parseHttpDate('Sat, 29 Feb 2000 00:00:00 GMT'), Date.UTC(2000, 1, 29));
    for (const value of [
      'Fri, 29 Feb 2023 00:00:00 GMT',
      'Mon, 29 Feb 1900 00:00:00 GMT',
      'Thu, 31 Apr 2024 00:00:00 GMT',
      'Thu, 00 Jan 2024 00:00:00 GMT',
      'Thu, 01 Jan 2024 24:00:00 GMT',
      'Thu, 01 Jan 2024 00:60:00 GMT',
      'Thu, 01 Jan 2024 00:00:61 GMT',
    ]) {
      assert.equal(parseHttpDate(value), undefined, value);
    }
  });

  it('accepts a leap second', () => {
    assert.equal(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT'), Date.UTC(2017, 0, 1));
  });

  it('refuses what Date.parse would happily accept', () => {
    for (const value of [
      '1',
      '2024',
      '2024-01-01T00:00:00Z',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun, 06 Nov 1994 08:49:37 +0000',
      'sun, 06 nov 1994 08:49:37 GMT',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun,  06 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 94 08:49:37 GMT',
      'Sun Nov 6 08:49:37 1994',
      'yesterday',
      '',
    ]) {
      assert.equal(parseHttpDate(value), undefined, value);
    }
    assert.equal(parseHttpDate(undefined), undefined);
  });

  it('ignores whitespace around the field value', () => {
    assert.equal(parseHttpDate(` ${IMF}\t`), EXAMPLE_MS);
  });

  it('round-trips every IMF-fixdate that Date#toUTCString writes', () => {
    // Years 1000-9999: IMF-fixdate has exactly four year digits.
    const instants = fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59) });
    fc.assert(
      fc.property(instants, (ms) => {
        const whole = ms - (((ms % 1000) + 1000) % 1000);
        assert.equal(parseHttpDate(new Date(whole).toUTCString()), whole);
      }),
    );
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const parsed = parseHttpDate(value);
        assert.ok(parsed === undefined || Number.isFinite(parsed));
      }),
    );
  });
});
