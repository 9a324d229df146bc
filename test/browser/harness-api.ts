// What the modal's test page offers the tests (as `globalThis.harness`), as types only: the page
// side (harness.ts) implements it under DOM types, the Node side calls it through page.evaluate.
import type { LifecycleSnapshot } from '../../src/lifecycle/snapshot.js';
import type { DownloadStrings } from '../../src/ui/download-strings.js';

export interface MountOptions {
  strings?: Partial<DownloadStrings>;
  /** The `lang` of the element's parent. */
  lang?: string;
  /** Open the modal at once (default true). */
  open?: boolean;
}

export interface CssViolation {
  directive: string;
  blockedURI: string;
  sample: string;
}

export interface ModalHarness {
  /** Replaces any earlier element with a fresh one showing `snapshot`. */
  mount(snapshot: LifecycleSnapshot | null, options?: MountOptions): void;
  set(snapshot: LifecycleSnapshot | null): void;
  setStrings(strings: Partial<DownloadStrings>): void;
  open(): void;
  /** Whether the element says it is open, and whether its dialog really is (modally). */
  openState(): { element: boolean; dialog: boolean; modal: boolean };
  /** Every `modelhaul-action` detail.action so far, oldest first. */
  actions(): string[];
  /** The text of the focused element inside the element, or its tag name; null when focus is outside. */
  focused(): string | null;
  /** Each text the status region was given since mount (empty clears left out). */
  announcements(): string[];
  /** Computed style properties of the first node matching `selector` in the element's shadow root. */
  style(selector: string, properties: string[]): Record<string, string>;
  /** The computed `background-color` of a probe painted with a CSS system colour, such as `Highlight`. */
  systemColor(name: string): string;
  /** The rendered width of the node matching `selector` in the shadow root, in CSS pixels. */
  width(selector: string): number;
  /** CSP violations seen since the page loaded. */
  violations(): CssViolation[];
}
