/**
 * Rules for the `path` of an artifact (docs/rules.md rule 28): a relative POSIX path that stays
 * inside the install dir and means the same file on Linux, macOS and Windows. Everything here is
 * string work, done before the file system is touched, so that a hostile or careless manifest is
 * refused as a whole instead of half-installed.
 */

/** Longest accepted path, in UTF-16 code units: far above any real model layout. */
export const MAX_PATH_LENGTH = 1024;

/** Longest accepted segment in UTF-8 bytes: NAME_MAX on ext4, APFS and NTFS (in practice). */
export const MAX_SEGMENT_BYTES = 255;

/** The folder inside the install dir where modelhaul keeps partial files, records and its lock. */
export const PRIVATE_DIR_NAME = '.modelhaul';

// C0 controls, DEL and C1 controls. A NUL truncates the path in C APIs; the others (ESC above all)
// would also end up in terminal output when the path is shown in progress lines.
const CONTROL_CHARACTER = /\p{Cc}/u;

// Bidirectional formatting characters (the embeddings, overrides and isolates, and the LRM, RLM
// and ALM marks). A right-to-left override makes `model\u202Egnp.exe` show as `modelexe.png`: a
// path shown to a person must read as what it is.
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

// With the `u` flag a surrogate pair is one code point, so this only matches a lone surrogate.
// Node encodes one as U+FFFD when it becomes a file name, so two different strings would name the
// same file behind the collision check's back.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

// Characters that Win32 refuses in file names. `:` and `\` have their own, more specific messages.
const WINDOWS_FORBIDDEN_CHARACTER = /[<>"|?*]/;

// Win32 maps these names to devices in every directory, whatever follows the first dot ("nul.txt"
// is the NUL device too). The superscript digits are listed by Microsoft as well.
const WINDOWS_DEVICE_NAME = /^(?:con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/i;

/**
 * Checks a manifest path. Returns why it is unsafe (a phrase that reads after the field name,
 * e.g. `artifacts[0].path: must not contain '..' segments`), or `null` when it is fine.
 *
 * Accepted paths are non-empty, relative, `/`-separated, free of `.`/`..`/empty segments, of
 * backslashes, colons, control characters and Windows-reserved names, and do not enter modelhaul's
 * private `.modelhaul` folder. Joined to any install dir with `path.posix` or `path.win32`, they
 * resolve to a location strictly inside it.
 *
 * @example
 * ```ts
 * checkRelativePath('llm/qwen.gguf');   // null
 * checkRelativePath('../etc/passwd');   // "must not contain '..' segments (they lead out of the install dir)"
 * checkRelativePath('C:\\models\\x');   // "must not start with a drive letter; ..."
 * ```
 */
export function checkRelativePath(path: string): string | null {
  if (path.length === 0) return 'must not be empty';
  if (path.length > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} characters long`;

  const control = CONTROL_CHARACTER.exec(path);
  if (control) return `must not contain control characters (found ${codePointName(control[0])})`;
  const bidi = BIDI_CONTROL.exec(path);
  if (bidi) return `must not contain bidirectional control characters (found ${codePointName(bidi[0])}), which make it display as another path`;
  if (LONE_SURROGATE.test(path)) return 'must be well-formed Unicode text (found a lone surrogate)';

  // The forms below are checked from the most specific to the most general, so that `\\host\x`
  // is reported as a UNC path rather than as "contains a backslash".
  if (path.startsWith('\\\\') || path.startsWith('//')) {
    return 'must not be a UNC path (\\\\host\\share); use a path relative to the install dir';
  }
  if (/^[A-Za-z]:/.test(path)) {
    return 'must not start with a drive letter; use a path relative to the install dir';
  }
  if (path.startsWith('/') || path.startsWith('\\')) {
    return 'must be relative to the install dir, not absolute';
  }
  if (path.includes('\\')) return "must separate folders with '/', not backslashes";
  // On Windows `name:stream` writes an NTFS alternate data stream of `name`, and `X:` anywhere
  // else is a drive-relative path; no portable file name needs a colon.
  if (path.includes(':')) return "must not contain ':' (Windows reads it as a drive or an NTFS stream)";
  const forbidden = WINDOWS_FORBIDDEN_CHARACTER.exec(path);
  if (forbidden) return `must not contain '${forbidden[0]}', which Windows does not allow in file names`;

  for (const segment of path.split('/')) {
    const problem = checkSegment(segment);
    if (problem !== null) return problem;
  }
  return null;
}

function checkSegment(segment: string): string | null {
  if (segment === '') return "must not contain empty segments (a trailing or doubled '/')";
  if (segment === '.') return "must not contain '.' segments";
  if (segment === '..') return "must not contain '..' segments (they lead out of the install dir)";
  if (segment.toLowerCase().startsWith(PRIVATE_DIR_NAME)) {
    return `must not use '${segment}': names starting with '${PRIVATE_DIR_NAME}' are reserved for modelhaul's own files`;
  }
  // Win32 strips trailing dots and spaces, so `model.` and `model` would be the same file there.
  if (segment.endsWith('.') || segment.endsWith(' ')) {
    return `must not have a segment ending in a dot or a space ('${segment}'); Windows strips them`;
  }
  const stem = segment.split('.', 1)[0]?.trimEnd() ?? segment;
  if (WINDOWS_DEVICE_NAME.test(stem)) {
    return `must not use '${segment}', which is a reserved device name on Windows`;
  }
  if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
    return `must not have a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return null;
}

function codePointName(character: string): string {
  const codePoint = character.codePointAt(0) ?? 0;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The form of a path under which two artifacts land on the same file on a case-insensitive file
 * system (Windows, macOS by default): Unicode NFC, then lower case. APFS and HFS+ also ignore the
 * normalization form, which is why NFC comes first.
 *
 * Lower case is taken of the upper case: NTFS compares upper-cased names, and some letters have
 * one upper case but two lower cases (Greek `σ`/`ς`, long `ſ`/`s`). This may also merge names that
 * no file system confuses (`ß` and `ss`); a false alarm costs a rename in the manifest, a miss
 * costs one file overwriting another.
 *
 * @example
 * ```ts
 * pathCollisionKey('LLM/Model.gguf') === pathCollisionKey('llm/model.gguf'); // true
 * ```
 */
export function pathCollisionKey(path: string): string {
  return path.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}

/** Two artifact paths that cannot both be installed; indexes are positions in the input list. */
export interface PathConflict {
  /** The later of the two paths, the one that is reported. */
  index: number;
  /** The earlier path it conflicts with. */
  otherIndex: number;
  /**
   * `same`: both name one file (possibly differing only in case or normalization).
   * `file-in-file`: the later path goes inside the earlier one, which is a file.
   * `dir-over-file`: the later path is a folder of the earlier one, so it cannot be a file.
   */
  kind: 'same' | 'file-in-file' | 'dir-over-file';
}

/**
 * Finds paths in a list that cannot coexist in one install dir: equal up to case and Unicode
 * normalization (`Model.bin` and `model.bin`), or one being a folder of the other (`a` and `a/b`).
 * Entries that are `undefined` are skipped, so callers can pass the paths that passed
 * {@link checkRelativePath} and keep the original indexes. Runs in O(total segments).
 *
 * @example
 * ```ts
 * findPathConflicts(['a/b.bin', 'A/B.bin', 'a']);
 * // [{ index: 1, otherIndex: 0, kind: 'same' }, { index: 2, otherIndex: 0, kind: 'dir-over-file' }]
 * ```
 */
export function findPathConflicts(paths: readonly (string | undefined)[]): PathConflict[] {
  const conflicts: PathConflict[] = [];
  const files = new Map<string, number>();
  // Every proper parent folder of an earlier path, mapped to the first path that needs it.
  const folders = new Map<string, number>();
  paths.forEach((path, index) => {
    if (path === undefined) return;
    const key = pathCollisionKey(path);
    const conflict = findConflict(key, files, folders);
    if (conflict) {
      conflicts.push({ index, ...conflict });
      return;
    }
    files.set(key, index);
    for (const folder of parentFolders(key)) {
      if (!folders.has(folder)) folders.set(folder, index);
    }
  });
  return conflicts;
}

function findConflict(
  key: string,
  files: ReadonlyMap<string, number>,
  folders: ReadonlyMap<string, number>,
): Omit<PathConflict, 'index'> | undefined {
  const same = files.get(key);
  if (same !== undefined) return { otherIndex: same, kind: 'same' };
  const below = folders.get(key);
  if (below !== undefined) return { otherIndex: below, kind: 'dir-over-file' };
  for (const folder of parentFolders(key)) {
    const file = files.get(folder);
    if (file !== undefined) return { otherIndex: file, kind: 'file-in-file' };
  }
  return undefined;
}

/** `a/b/c` → `a`, `a/b`. */
function* parentFolders(key: string): Generator<string> {
  for (let slash = key.indexOf('/'); slash !== -1; slash = key.indexOf('/', slash + 1)) {
    yield key.slice(0, slash);
  }
}
