import type { Manifest } from '../manifest/types.js';
import { bundleStatus, type BundleStatus } from '../operations/status.js';
import { freeBytesFor } from './free-space.js';

/** What the disk says about a bundle, read between runs: metadata only, no hashing. */
export interface DiskState {
  status: BundleStatus | undefined;
  /** Why the status could not be read (an unreadable dir, say). */
  failure: unknown;
  freeBytes: number | null;
}

export async function readDiskState(manifest: Manifest, dir: string): Promise<DiskState> {
  let status: BundleStatus | undefined;
  let failure: unknown;
  try {
    // The manifest was validated when the lifecycle was made, under the app's allowHttp.
    status = await bundleStatus(manifest, dir, { allowHttp: true });
  } catch (error) {
    failure = error;
  }
  return { status, failure, freeBytes: await freeBytesFor(dir) };
}
