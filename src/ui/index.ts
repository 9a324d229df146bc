/**
 * `modelhaul/ui`: the download modal for a renderer or a web page. Importing this module defines
 * `<modelhaul-download>` (once, however often it is imported). It runs in any current browser,
 * needs no bundler and no framework, and imports nothing from Node: the snapshot it renders is
 * plain data from the lifecycle in the main process, a worker or a server.
 *
 * @example
 * ```html
 * <script type="module" src="/node_modules/modelhaul/dist/ui/index.js"></script>
 * <modelhaul-download open></modelhaul-download>
 * ```
 */
import { ModelhaulDownloadElement } from './download-element.js';

export { ModelhaulDownloadElement, type DownloadActionDetail } from './download-element.js';
export { DEFAULT_STRINGS, type DownloadStrings } from './download-strings.js';
export type { DownloadAction } from './download-view.js';
export type {
  ArtifactPhase,
  ArtifactSnapshot,
  CapabilitySnapshot,
  LifecycleBlock,
  LifecycleError,
  LifecyclePhase,
  LifecycleSnapshot,
} from '../lifecycle/snapshot.js';

/** The tag name the element is defined under. */
export const DOWNLOAD_ELEMENT_TAG = 'modelhaul-download';

if (!customElements.get(DOWNLOAD_ELEMENT_TAG)) customElements.define(DOWNLOAD_ELEMENT_TAG, ModelhaulDownloadElement);
