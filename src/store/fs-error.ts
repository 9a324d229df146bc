import { InstallError } from '../errors.js';

/**
 * Turns a file-system error into an {@link InstallError} a person can act on. `action` says what
 * modelhaul was doing ("write the partial download"), `file` where.
 */
export function fsError(error: unknown, action: string, file: string, artifactId?: string): InstallError {
  if (error instanceof InstallError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  const options = { cause: error, details: { path: file, errno: code }, ...(artifactId ? { artifactId } : {}) };
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      // The code's default hint asks to free "the number of bytes named in the message": a write
      // that ran out of space has no such number (another writer may be filling the disk).
      return new InstallError('DISK_FULL', `No space left to ${action}: ${file}`, {
        ...options,
        hint: `Free space on the disk that holds ${file} and run the same command again; downloaded bytes are kept.`,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new InstallError('PERMISSION_DENIED', `Not allowed to ${action}: ${file} (${code})`, options);
    default:
      return new InstallError('FILESYSTEM', `Could not ${action}: ${file} (${reason})`, options);
  }
}

/** True when `error` is a Node.js system error with this `code` (ENOENT, EEXIST, ...). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}
