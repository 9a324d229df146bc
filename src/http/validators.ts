/**
 * The validators a response carried, as received (byte for byte), and kept in the resume record so
 * that the next attempt can ask for "the rest of *this* representation" with `If-Range`.
 */
export interface ResponseValidators {
  /** The `ETag` field value, quotes and any `W/` prefix included. */
  etag?: string;
  /** The `Last-Modified` field value. */
  lastModified?: string;
  /** The `Date` field value of the same response; it decides whether Last-Modified is strong. */
  date?: string;
}

// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
// "W/" is case-sensitive (%s), so `w/"x"` is neither weak nor a valid strong tag.
const STRONG_ETAG = /^"[\x21\x23-\x7e\x80-\xff]*"$/;

/**
 * True when `etag` is marked weak (`W/"..."`). A weak ETag only says two representations are
 * semantically equivalent, not byte-identical, so it must never guard a byte range.
 *
 * @example
 * ```ts
 * isWeakEtag('W/"abc"'); // true
 * isWeakEtag('"abc"');   // false
 * ```
 */
export function isWeakEtag(etag: string): boolean {
  return etag.startsWith('W/');
}

/**
 * True when `etag` is a syntactically valid strong entity tag: a quoted opaque tag without `W/`.
 * An unquoted or otherwise malformed value is not strong: a server cannot be trusted to compare it
 * the way RFC 9110 says, so it is useless as a validator.
 *
 * @example
 * ```ts
 * isStrongEtag('"abc"');   // true
 * isStrongEtag('W/"abc"'); // false
 * isStrongEtag('abc');     // false (no quotes)
 * ```
 */
export function isStrongEtag(etag: string): boolean {
  return STRONG_ETAG.test(etag);
}

/**
 * Strong comparison of two entity tags (RFC 9110 §8.8.3.2): equal only when both are strong and
 * their opaque tags match character by character. Two weak tags never match, even when identical.
 *
 * @example
 * ```ts
 * strongEtagEquals('"v1"', '"v1"');     // true
 * strongEtagEquals('W/"v1"', 'W/"v1"'); // false
 * strongEtagEquals('"v1"', undefined);  // false
 * ```
 */
export function strongEtagEquals(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && isStrongEtag(a) && a === b;
}

/**
 * Chooses the `If-Range` value for a resume request (RFC 9110 §13.1.5), or `undefined` when the
 * response offered no validator that may be sent.
 *
 * - A strong ETag wins, returned byte for byte, quotes included.
 * - `Last-Modified` is used only when the response had no ETag at all (a weak or malformed one
 *   still rules the date out, as §13.1.5 requires) and the date is strong: the response's `Date`
 *   is at least one second after it (§8.8.2.2), so the file cannot have changed again within the
 *   same second. Dates that do not parse as HTTP-dates are never strong.
 *
 * With `undefined`, the caller either restarts or resumes without `If-Range` and relies on the
 * pinned SHA-256 (docs/rules.md rule 3).
 *
 * @example
 * ```ts
 * chooseIfRange({ etag: '"abc"' });      // '"abc"'
 * chooseIfRange({ etag: 'W/"abc"' });    // undefined
 * chooseIfRange({
 *   lastModified: 'Tue, 15 Nov 1994 08:12:31 GMT',
 *   date: 'Tue, 15 Nov 1994 08:12:32 GMT',
 * });                                     // 'Tue, 15 Nov 1994 08:12:31 GMT'
 * ```
 */
export function chooseIfRange(validators: ResponseValidators): string | undefined {
  const { etag, lastModified, date } = validators;
  if (etag !== undefined) return isStrongEtag(etag) ? etag : undefined;
  if (lastModified === undefined || date === undefined) return undefined;
  const modifiedAt = parseHttpDate(lastModified);
  const sentAt = parseHttpDate(date);
  if (modifiedAt === undefined || sentAt === undefined) return undefined;
  return sentAt - modifiedAt >= 1000 ? lastModified : undefined;
}

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const LONG_DAY_NAMES = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
] as const;
const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;

const DAY = DAY_NAMES.join('|');
const MONTH = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 §5.6.7. The names are case-sensitive, and the two obsolete forms must still be accepted.
const IMF_FIXDATE = new RegExp(`^(?:${DAY}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(
  `^(?:${LONG_DAY_NAMES.join('|')}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`,
);
const ASCTIME_DATE = new RegExp(`^(?:${DAY}) (${MONTH}) ([ \\d]\\d) ${TIME} (\\d{4})$`);

const SURROUNDING_OWS = /^[ \t]+|[ \t]+$/g;

/**
 * Parses an HTTP-date (RFC 9110 §5.6.7) to milliseconds since the epoch, or `undefined` when the
 * value is not one.
 *
 * Accepts IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the obsolete rfc850-date
 * (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime-date (`Sun Nov  6 08:49:37 1994`) forms that
 * recipients must still read. `Date.parse` is not used because it accepts nearly anything
 * (`Date.parse('1')` is a date in 2001), which would turn garbage into a "strong" validator. The
 * day name is not checked against the date, as RFC 9110 does not ask recipients to.
 *
 * @param now - The current time, used only to place rfc850-date's two-digit year.
 *
 * @example
 * ```ts
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'); // 784111777000
 * parseHttpDate('yesterday');                     // undefined
 * ```
 */
export function parseHttpDate(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.replace(SURROUNDING_OWS, '');

  let match = IMF_FIXDATE.exec(text);
  if (match !== null) {
    const [, day, month, year, hour, minute, second] = match;
    return toEpochMs(Number(year), month, Number(day), hour, minute, second);
  }
  match = RFC850_DATE.exec(text);
  if (match !== null) {
    const [, day, month, year, hour, minute, second] = match;
    return toEpochMs(fullYear(Number(year), now), month, Number(day), hour, minute, second);
  }
  match = ASCTIME_DATE.exec(text);
  if (match !== null) {
    const [, month, day = '', hour, minute, second, year] = match;
    // asctime pads a one-digit day with a space; " 6" is day 6, but "6 " cannot occur.
    return toEpochMs(Number(year), month, Number(day.trimStart()), hour, minute, second);
  }
  return undefined;
}

/**
 * RFC 9110 §5.6.7: a two-digit year that "appears to be more than 50 years in the future" means
 * the most recent past year with the same last two digits.
 */
function fullYear(twoDigits: number, now: number): number {
  const currentYear = new Date(now).getUTCFullYear();
  let year = currentYear - (currentYear % 100) + twoDigits;
  if (year > currentYear + 50) year -= 100;
  return year;
}

function toEpochMs(
  year: number,
  monthName: string | undefined,
  day: number,
  hourText: string | undefined,
  minuteText: string | undefined,
  secondText: string | undefined,
): number | undefined {
  const month = MONTHS.findIndex((name) => name === monthName);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = Number(secondText);
  // Second 60 is a leap second (§5.6.7 allows it); Date.UTC rolls it into the next minute.
  if (month < 0 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

function daysInMonth(year: number, month: number): number {
  if (month === 1) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [3, 5, 8, 10].includes(month) ? 30 : 31;
}
