import { InstallError } from '../errors.js';

/**
 * The byte range a `206 Partial Content` response says it carries: bytes `first` through `last`
 * (both inclusive, zero-based) of a representation that is `total` bytes long.
 */
export interface ContentRange {
  first: number;
  last: number;
  total: number;
}

// RFC 9110 §14.4: Content-Range = range-unit SP ( range-resp / unsatisfied-range ), with
// range-resp = first-pos "-" last-pos "/" ( complete-length / "*" ) and every number 1*DIGIT.
// The range unit is case-insensitive (§14.1); nothing else is, and nothing else may be added: no
// sign, no inner whitespace, one space after the unit. Anchored and free of nested quantifiers, so
// matching is linear in the length of the value whatever a hostile server sends.
const RANGE_RESP = /^bytes ([0-9]+)-([0-9]+)\/([0-9]+|\*)$/i;
const UNSATISFIED_RANGE = /^bytes \*\/([0-9]+)$/i;

// A field value never includes leading or trailing whitespace (RFC 9110 §5.5): Node's parser
// already strips it, and stripping it here too keeps a value copied from elsewhere comparable.
const SURROUNDING_OWS = /^[ \t]+|[ \t]+$/g;

const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER);

/**
 * Parses the `Content-Range` of a `206 Partial Content` response, strictly.
 *
 * Accepts exactly `bytes first-last/total` (unit case-insensitive, digits only) with
 * `first <= last < total` and every number at most `Number.MAX_SAFE_INTEGER`. Leading zeros are
 * allowed because the grammar is `1*DIGIT`; they do not change the value. A `*` total and the
 * `bytes *\/len` form are refused: a 206 must state the full length (RFC 9110 §15.3.7), and we
 * need it to check that the server sends the file the manifest describes.
 *
 * @throws {InstallError} `RANGE_NOT_HONOURED` when the header is missing or is anything else; a
 *   response that cannot say precisely which bytes it carries must never be appended to a file.
 *
 * @example
 * ```ts
 * parseContentRange('bytes 100-199/1000'); // { first: 100, last: 199, total: 1000 }
 * parseContentRange('bytes 100-199/*');    // throws InstallError RANGE_NOT_HONOURED
 * ```
 */
export function parseContentRange(value: string | undefined): ContentRange {
  if (value === undefined) {
    throw rangeError('The 206 response has no Content-Range header.', value);
  }
  const match = RANGE_RESP.exec(value.replace(SURROUNDING_OWS, ''));
  if (match === null) {
    throw rangeError(`The 206 response has a malformed Content-Range: ${quote(value)}.`, value);
  }
  const [, firstDigits = '', lastDigits = '', totalDigits = ''] = match;
  if (totalDigits === '*') {
    throw rangeError(
      `The 206 response does not state the complete length in its Content-Range: ${quote(value)}.`,
      value,
    );
  }
  const first = toSafeInteger(firstDigits, value);
  const last = toSafeInteger(lastDigits, value);
  const total = toSafeInteger(totalDigits, value);
  if (last < first) {
    throw rangeError(`The Content-Range ${quote(value)} ends before it starts.`, value);
  }
  if (total <= last) {
    throw rangeError(`The Content-Range ${quote(value)} reaches beyond its complete length.`, value);
  }
  return { first, last, total };
}

/**
 * Parses the `Content-Range` of a `416 Range Not Satisfiable` response: `bytes *\/len`.
 *
 * @returns The complete length the server reports, or `undefined` when the header is absent
 *   (RFC 9110 §15.5.17 only says a server SHOULD send it, and some do not).
 * @throws {InstallError} `RANGE_NOT_HONOURED` when the header is present but malformed, so that a
 *   garbled header is never mistaken for a missing one.
 *
 * @example
 * ```ts
 * parseUnsatisfiedRange('bytes *\/1000'); // 1000
 * parseUnsatisfiedRange(undefined);       // undefined
 * ```
 */
export function parseUnsatisfiedRange(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = UNSATISFIED_RANGE.exec(value.replace(SURROUNDING_OWS, ''));
  if (match === null) {
    throw rangeError(`The 416 response has a malformed Content-Range: ${quote(value)}.`, value);
  }
  return toSafeInteger(match[1] ?? '', value);
}

/**
 * Formats a byte range as a `Content-Range` value, the inverse of {@link parseContentRange}.
 *
 * @throws {RangeError} for a triple that {@link parseContentRange} would refuse: that is a bug in
 *   the caller, not a server fault, so it is not an {@link InstallError}.
 *
 * @example
 * ```ts
 * formatContentRange({ first: 0, last: 99, total: 1000 }); // 'bytes 0-99/1000'
 * ```
 */
export function formatContentRange({ first, last, total }: ContentRange): string {
  const valid =
    Number.isSafeInteger(first) &&
    Number.isSafeInteger(last) &&
    Number.isSafeInteger(total) &&
    first >= 0 &&
    last >= first &&
    total > last;
  if (!valid) {
    throw new RangeError(`Not a satisfiable byte range: first=${first} last=${last} total=${total}`);
  }
  return `bytes ${first}-${last}/${total}`;
}

/**
 * Converts `1*DIGIT` to a number, refusing values above `Number.MAX_SAFE_INTEGER`. The check runs
 * on the digits, because `Number('9007199254740993')` silently rounds to a different offset.
 */
function toSafeInteger(digits: string, value: string): number {
  const significant = digits.replace(/^0+(?=[0-9])/, '');
  const tooLarge =
    significant.length > MAX_SAFE_DIGITS.length ||
    // Equal-length digit strings compare like the numbers they spell.
    (significant.length === MAX_SAFE_DIGITS.length && significant > MAX_SAFE_DIGITS);
  if (tooLarge) {
    throw rangeError(
      `The Content-Range ${quote(value)} holds a number larger than modelhaul can address exactly.`,
      value,
    );
  }
  return Number(significant);
}

function rangeError(message: string, value: string | undefined): InstallError {
  return new InstallError('RANGE_NOT_HONOURED', message, { details: { contentRange: value } });
}

/** Quotes a server-supplied value for a message, cut short so a hostile header cannot flood logs. */
function quote(value: string): string {
  const limit = 120;
  return JSON.stringify(value.length > limit ? `${value.slice(0, limit)}…` : value);
}
