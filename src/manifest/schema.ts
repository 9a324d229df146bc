/**
 * The zod schema of manifest format version 1. Every message it produces is a short phrase that
 * reads after a field name (`artifacts[1].sha256: expected 64 hex characters`); `parse.ts` adds
 * the field name, orders the problems and turns them into an InstallError.
 */
import * as z from 'zod/mini';
import type { ErrorCode } from '../error-codes.js';
import { checkRelativePath, findPathConflicts } from './path-safety.js';
import { checkUrl, type UrlPolicyOptions } from './url-policy.js';
import { ARTIFACT_KINDS, KINDS } from './kinds.js';
import { parseSourceSpec } from './source-spec.js';
import { isInstallError } from '../errors.js';

/** The only `schemaVersion` this modelhaul reads. */
export const SCHEMA_VERSION = 1;

/** What an artifact id looks like: safe in file names, URLs, CLI arguments and log lines. */
export const ARTIFACT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
export const MAX_ID_LENGTH = 128;
export const MAX_LABEL_LENGTH = 200;
export const MAX_NAME_LENGTH = 200;

/**
 * The keys an artifact object may have; any other key is an error (a typo like `sha265`). Used to
 * suggest the intended key; a test keeps it equal to the schema's own list.
 */
export const ARTIFACT_FIELDS = ['id', 'kind', 'label', 'url', 'size', 'sha256', 'path'] as const;

/** The keys a manifest object may have. `$schema` lets editors validate the file; it is ignored. */
export const MANIFEST_FIELDS = ['$schema', 'schemaVersion', 'name', 'description', 'mirrors', 'artifacts'] as const;

/** More mirrors than this in a manifest is a mistake, and each one costs a request per artifact. */
export const MAX_MIRRORS = 32;

// Where a custom issue records the InstallError code it stands for (only INSECURE_URL differs from
// the default MANIFEST_INVALID).
const ERROR_CODE_PARAM = 'installErrorCode';

/**
 * The InstallError code that a problem found by {@link manifestSchema} should be reported with:
 * `INSECURE_URL` for the http policy, `MANIFEST_INVALID` for everything else.
 */
export function errorCodeOfIssue(issue: z.core.$ZodIssue): ErrorCode {
  if (issue.code !== 'custom') return 'MANIFEST_INVALID';
  const code: unknown = issue.params?.[ERROR_CODE_PARAM];
  return code === 'INSECURE_URL' ? 'INSECURE_URL' : 'MANIFEST_INVALID';
}

/**
 * Builds the schema of a format-version-1 manifest. The URL policy depends on `allowHttp`, which
 * is why this is a function rather than a constant.
 *
 * Rules: `schemaVersion` is 1; `name` is a non-empty line of text; `artifacts` is a non-empty
 * array of objects with exactly the keys {@link ARTIFACT_FIELDS}; ids match
 * {@link ARTIFACT_ID_PATTERN} and are unique; paths pass `checkRelativePath` and do not collide;
 * URLs pass `checkUrl`; `mirrors`, when present, lists at most {@link MAX_MIRRORS} sources in the
 * syntax of `--mirror`. Unknown keys are errors at both levels, except `$schema` and
 * `description` at the top.
 *
 * @example
 * ```ts
 * const result = manifestSchema({ allowHttp: false }).safeParse(JSON.parse(text));
 * if (!result.success) console.log(result.error.issues);
 * ```
 */
export function manifestSchema(options: UrlPolicyOptions) {
  const artifact = z.strictObject(
    {
      id: z.string({ error: typeError('a string') }).check(z.superRefine(rule(checkId))),
      kind: z.enum(KINDS, {
        error: (issue) =>
          issue.input === undefined
            ? 'is required'
            : `must be one of ${ARTIFACT_KINDS.map((kind) => JSON.stringify(kind)).join(', ')}`,
      }),
      label: z.string({ error: typeError('a string') }).check(z.superRefine(rule(lineOfText(MAX_LABEL_LENGTH)))),
      url: z.string({ error: typeError('a string') }).check(
        z.superRefine((url, ctx) => {
          const verdict = checkUrl(url, options);
          if (verdict.ok) return;
          ctx.addIssue({
            code: 'custom',
            message: verdict.reason,
            params: { [ERROR_CODE_PARAM]: verdict.code },
          });
        }),
      ),
      size: z.number({ error: typeError('a number') }).check(z.superRefine(rule(checkSize))),
      sha256: z.string({ error: typeError('a string') }).check(z.superRefine(rule(checkSha256))),
      path: z.string({ error: typeError('a string') }).check(z.superRefine(rule(checkRelativePath))),
    },
    { error: typeError('an object') },
  );

  return z.strictObject(
    {
      $schema: z.optional(z.string({ error: typeError('a string') })),
      schemaVersion: z.literal(SCHEMA_VERSION, {
        error: (issue) => (issue.input === undefined ? 'is required' : `must be ${SCHEMA_VERSION}`),
      }),
      name: z.string({ error: typeError('a string') }).check(z.superRefine(rule(lineOfText(MAX_NAME_LENGTH)))),
      description: z.optional(z.string({ error: typeError('a string') })),
      mirrors: z.optional(
        z
          .array(z.string({ error: typeError('a string') }).check(z.superRefine(sourceRule(options))), { error: typeError('an array') })
          .check(z.maxLength(MAX_MIRRORS, { error: `must list at most ${MAX_MIRRORS} mirrors` })),
      ),
      artifacts: z
        .array(artifact, { error: typeError('an array') })
        .check(z.minLength(1, { error: 'must list at least one artifact' }), z.superRefine(checkUniqueness)),
    },
    { error: typeError('a JSON object') },
  );
}

/** The value {@link manifestSchema} produces. */
export type ManifestSchemaOutput = z.output<ReturnType<typeof manifestSchema>>;

type IssueMaker = (issue: { code?: string; input?: unknown }) => string | undefined;

/** The message of a wrong-type or missing-key issue; other issue codes keep their own. */
function typeError(expected: string): IssueMaker {
  return (issue) => {
    if (issue.code !== 'invalid_type') return undefined;
    return issue.input === undefined ? 'is required' : `expected ${expected}, found ${describeValue(issue.input)}`;
  };
}

/** `null`, `an array`, `a string`, ...: the kind of a JSON value, for "found ..." messages. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return /^[aeiou]/.test(typeof value) ? `an ${typeof value}` : `a ${typeof value}`;
}

/** Adapts a `value => problem | null` rule to zod: at most one issue per field. */
function rule<T>(check: (value: T) => string | null) {
  return (value: T, ctx: z.core.$RefinementCtx<T>): void => {
    const problem = check(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  };
}

/**
 * A mirror in the manifest: the syntax of `--mirror`, and for URLs the same policy as artifact
 * URLs (plain http only to loopback, or with allowHttp, reported as INSECURE_URL).
 */
function sourceRule(options: UrlPolicyOptions) {
  return (text: string, ctx: z.core.$RefinementCtx<string>): void => {
    if (!text.startsWith('oci://') && !text.startsWith('oci-layout:')) {
      const verdict = checkUrl(text, options);
      if (verdict.ok === false && verdict.code === 'INSECURE_URL') {
        ctx.addIssue({ code: 'custom', message: verdict.reason, params: { [ERROR_CODE_PARAM]: verdict.code } });
        return;
      }
    }
    try {
      parseSourceSpec(text, options);
    } catch (error) {
      if (!isInstallError(error)) throw error;
      ctx.addIssue({ code: 'custom', message: String(error.details.problem ?? error.message) });
    }
  };
}

function checkId(id: string): string | null {
  if (id.length === 0) return 'must not be empty';
  if (id.length > MAX_ID_LENGTH) return `must be at most ${MAX_ID_LENGTH} characters long`;
  if (!ARTIFACT_ID_PATTERN.test(id)) {
    return "must start with a lowercase letter or digit and use only a-z, 0-9, '.', '_' and '-'";
  }
  return null;
}

// Names and labels are printed in progress lines: a control character there (an ESC sequence
// above all) would let a manifest rewrite the user's terminal.
function lineOfText(maxLength: number) {
  return (text: string): string | null => {
    if (text.trim().length === 0) return 'must not be empty';
    if (text.length > maxLength) return `must be at most ${maxLength} characters long`;
    if (/\p{Cc}/u.test(text)) return 'must not contain control characters or line breaks';
    return null;
  };
}

function checkSize(size: number): string | null {
  return Number.isSafeInteger(size) && size > 0 ? null : 'expected a positive whole number of bytes';
}

function checkSha256(sha256: string): string | null {
  if (/^[0-9a-f]{64}$/.test(sha256)) return null;
  if (/^[0-9a-fA-F]{64}$/.test(sha256)) return 'expected lowercase hex characters';
  return 'expected 64 hex characters';
}

/**
 * Ids must be unique, and no two paths may name the same file or a file and its folder. zod skips
 * this when an artifact has a type error; such a manifest is rejected anyway, and the duplicate
 * shows up once the type error is fixed.
 */
function checkUniqueness(artifacts: readonly { id: unknown; path: unknown }[], ctx: z.core.$RefinementCtx): void {
  const firstWithId = new Map<string, number>();
  artifacts.forEach((artifact, index) => {
    if (typeof artifact.id !== 'string') return;
    const first = firstWithId.get(artifact.id);
    if (first === undefined) firstWithId.set(artifact.id, index);
    else ctx.addIssue({ code: 'custom', message: `duplicates artifacts[${first}].id`, path: [index, 'id'] });
  });

  // Paths that broke a rule of their own already have an issue; comparing them would only add noise.
  const paths = artifacts.map((artifact) =>
    typeof artifact.path === 'string' && checkRelativePath(artifact.path) === null ? artifact.path : undefined,
  );
  for (const conflict of findPathConflicts(paths)) {
    const other = `artifacts[${conflict.otherIndex}].path (${JSON.stringify(paths[conflict.otherIndex])})`;
    const message = {
      same:
        paths[conflict.index] === paths[conflict.otherIndex]
          ? `duplicates ${other}`
          : `names the same file as ${other} on case-insensitive file systems`,
      'file-in-file': `would be inside ${other}, which is a file`,
      'dir-over-file': `would be a folder for ${other}, so it cannot be a file`,
    }[conflict.kind];
    ctx.addIssue({ code: 'custom', message, path: [conflict.index, 'path'] });
  }
}
