import type { Artifact, Manifest } from '../manifest/types.js';
import { damagedCopy, demoFiles, sha256Of, type DemoFile } from './demo-content.js';
import type { DemoOrigin } from './demo-origin.js';

/**
 * The demo bundle on a running demo origin: its files served where a model hub would serve them,
 * and the manifest that pins them. Shared by the terminal tour and the browser demo.
 */
export interface DemoBundle {
  manifest: Manifest;
  files: DemoFile[];
  /** Bytes of the whole bundle. */
  bytes: number;
  /**
   * Serves every file with one byte changed (and a new ETag, so a resume restarts from zero and
   * takes the damage in), or the right files again.
   */
  serveDamaged(on: boolean): void;
}

export const DEMO_BUNDLE_NAME = 'voice-assistant-demo';
const REPO_PATH = '/demo/voice-assistant/resolve/main/';

export function demoBundle(origin: DemoOrigin): DemoBundle {
  const files = demoFiles();
  const served = files.map((file) => ({ file, sha256: sha256Of(file), urlPath: REPO_PATH + file.path }));
  const serveAll = (damaged: boolean): void => {
    for (const { file, sha256, urlPath } of served) {
      if (damaged) origin.serve(urlPath, damagedCopy(file), `"damaged-${sha256.slice(0, 16)}"`);
      else origin.serve(urlPath, file, `"${sha256.slice(0, 16)}"`);
    }
  };
  serveAll(false);
  const artifacts: Artifact[] = served.map(({ file, sha256, urlPath }) => ({
    id: file.id,
    kind: file.kind,
    label: file.label,
    url: origin.url(urlPath),
    size: file.size,
    sha256,
    path: file.path,
  }));
  return {
    manifest: {
      schemaVersion: 1,
      name: DEMO_BUNDLE_NAME,
      description: 'A made-up bundle served by `modelhaul demo` on 127.0.0.1; its files are not real models.',
      artifacts,
    },
    files,
    bytes: files.reduce((sum, file) => sum + file.size, 0),
    serveDamaged: serveAll,
  };
}
