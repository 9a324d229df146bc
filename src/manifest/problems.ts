/**
 * From zod issues to what a person reads: one problem per field, named the way they would write
 * it (`artifacts[1].sha256`), in the order they appear in the file.
 */
import type { z } from 'zod/mini';
import type { ErrorCode } from '../error-codes.js';
import { ARTIFACT_FIELDS, errorCodeOfIssue, MANIFEST_FIELDS } from './schema.js';

/** One thing wrong with a manifest. */
export interface ManifestProblem {
  /** Where in the input, as zod reports it: `['artifacts', 1, 'sha256']`. */
  path: readonly PropertyKey[];
  /** The same, written for people: `artifacts[1].sha256`; `manifest` for the whole document. */
  field: string;
  /** A phrase that reads after the field: `expected 64 hex characters`. */
  problem: string;
  code: ErrorCode;
}

/**
 * The problems behind a failed `manifestSchema().safeParse(input)`, first in document order.
 *
 * @example
 * ```ts
 * const result = manifestSchema({ allowHttp: false }).safeParse(input);
 * if (!result.success) describeProblems(input, result.error.issues)[0];
 * // { path: ['artifacts', 0, 'sha265'], field: 'artifacts[0].sha265',
 * //   problem: 'unknown field (did you mean "sha256"?)', code: 'MANIFEST_INVALID' }
 * ```
 */
export function describeProblems(input: unknown, issues: readonly z.core.$ZodIssue[]): ManifestProblem[] {
  const problems = issues.flatMap((issue) => toProblems(input, issue));
  // zod reports in schema order; people fix a file from the top. A key missing from its object
  // sorts after the keys it does have; ties keep zod's order, which follows the field order of the
  // schema (and so of the format's documentation).
  const positions = new Map(problems.map((problem) => [problem, documentPosition(input, problem.path)]));
  return problems.sort((a, b) => comparePositions(positions.get(a) ?? [], positions.get(b) ?? []));
}

/**
 * `artifacts[1].sha256`; keys that are not identifiers are quoted as in JS: `artifacts[0]["a b"]`.
 * The empty path is `manifest`, so that a field name is never empty.
 */
export function formatField(path: readonly PropertyKey[]): string {
  let field = '';
  for (const segment of path) {
    if (typeof segment === 'number') field += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment)) {
      field += field === '' ? segment : `.${segment}`;
    } else field += `[${JSON.stringify(String(segment))}]`;
  }
  return field === '' ? 'manifest' : field;
}

function toProblems(input: unknown, issue: z.core.$ZodIssue): ManifestProblem[] {
  const code = errorCodeOfIssue(issue);
  if (issue.code !== 'unrecognized_keys') {
    return [{ path: issue.path, field: formatField(issue.path), problem: issue.message, code }];
  }
  // zod reports all unknown keys of an object as one issue on the object; here each is its own
  // problem, so that the message names the misspelt key itself.
  const known = issue.path.length === 0 ? MANIFEST_FIELDS : ARTIFACT_FIELDS;
  const object = valueAt(input, issue.path);
  return issue.keys.map((key) => {
    const path = [...issue.path, key];
    const suggestion = closestField(key, known);
    // "did you mean sha256?" is no help when sha256 is there too.
    const problem =
      suggestion !== undefined && !hasOwn(object, suggestion)
        ? `unknown field (did you mean "${suggestion}"?)`
        : 'unknown field';
    return { path, field: formatField(path), problem, code };
  });
}

function documentPosition(input: unknown, path: readonly PropertyKey[]): number[] {
  const position: number[] = [];
  let node = input;
  try {
    for (const segment of path) {
      if (Array.isArray(node) && typeof segment === 'number') {
        position.push(segment);
        node = node[segment];
      } else if (isObject(node) && typeof segment === 'string') {
        const index = Object.keys(node).indexOf(segment);
        position.push(index === -1 ? Number.POSITIVE_INFINITY : index);
        node = index === -1 ? undefined : node[segment];
      } else {
        position.push(Number.POSITIVE_INFINITY);
        node = undefined;
      }
    }
  } catch {
    // Only a hostile JS value (a throwing getter or Proxy) gets here; its order does not matter.
  }
  return position;
}

function comparePositions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const left = a[i] ?? 0;
    const right = b[i] ?? 0;
    if (left !== right) return left < right ? -1 : 1;
  }
  // An issue on an object comes before the issues on its fields.
  return a.length - b.length;
}

/** The known field closest to a misspelt key, within two edits (`sha265` → `sha256`). */
function closestField(key: string, known: readonly string[]): string | undefined {
  if (key.length > 32) return undefined;
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, with a transposition counted as two edits. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasOwn(value: unknown, key: string): boolean {
  try {
    return isObject(value) && Object.hasOwn(value, key);
  } catch {
    return false;
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let node = input;
  try {
    for (const segment of path) {
      if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
      else if (isObject(node) && typeof segment === 'string' && Object.hasOwn(node, segment)) node = node[segment];
      else return undefined;
    }
  } catch {
    return undefined;
  }
  return node;
}
