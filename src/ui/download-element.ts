/**
 * `<modelhaul-download>`: the download modal. A snapshot goes in (the `snapshot` property), a
 * `modelhaul-action` event comes out; the element holds no download state of its own and talks to
 * nothing, so the same element works beside a lifecycle in the page, across Electron IPC, or over
 * server-sent events. No framework and no dependency: the DOM is built once with
 * `createElement` and updated in place, so focus, an opened disclosure and screen-reader
 * announcements survive five snapshots a second.
 */
import type { LifecyclePhase, LifecycleSnapshot } from '../lifecycle/snapshot.js';
import { Formats, mergeStrings, type DownloadStrings } from './download-strings.js';
import { applyStyles } from './download-styles.js';
import { drawIcon } from './download-icons.js';
import { BUTTON_ACTIONS, downloadView, type ButtonId, type DownloadAction, type DownloadView } from './download-view.js';
import { buildParts, labelButtons, renderFailure, renderItems, setText, type Parts } from './download-dom.js';

/** The `detail` of a `modelhaul-action` event. */
export interface DownloadActionDetail {
  action: DownloadAction;
}

/**
 * The download modal. Set `snapshot` to what a lifecycle's `subscribe` listener receives; listen
 * for `modelhaul-action` and call the lifecycle method of the same name (`start`, `pause`,
 * `resume`, `cancel`, `retry`); `background` means the person hid the dialog and nothing needs
 * to stop.
 *
 * @example
 * ```ts
 * import 'modelhaul/ui';
 * const modal = document.createElement('modelhaul-download');
 * document.body.append(modal);
 * window.models.onSnapshot((snapshot) => (modal.snapshot = snapshot));
 * modal.addEventListener('modelhaul-action', (event) => {
 *   const { action } = event.detail;
 *   if (action !== 'background') void window.models[action]();
 * });
 * modal.open = true;
 * ```
 */
export class ModelhaulDownloadElement extends HTMLElement {
  static readonly observedAttributes = ['open'];

  #snapshot: LifecycleSnapshot | null = null;
  #overrides: Partial<DownloadStrings> | null = null;
  #strings: DownloadStrings = mergeStrings(null);
  #formats = new Formats(undefined);
  readonly #parts: Parts;
  /** Milestone keys of the last render; null before the first, which announces nothing. */
  #milestones: Set<string> | null = null;
  #failureKey = '';
  #noticeKey = '';
  #phase: LifecyclePhase | null = null;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #announceLater: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    applyStyles(root);
    this.#parts = buildParts(root, this.#strings);
    this.#parts.dialog.addEventListener('close', () => this.#onDialogClosed());
    this.#parts.actions.addEventListener('click', (event) => {
      const button = (event.target as Element).closest('button');
      const id = button?.dataset['id'] as ButtonId | undefined;
      if (id !== undefined) this.#act(BUTTON_ACTIONS[id]);
    });
  }

  /** The state to show, as a lifecycle hands it out. `null` shows "checking". */
  get snapshot(): LifecycleSnapshot | null {
    return this.#snapshot;
  }

  set snapshot(value: LifecycleSnapshot | null) {
    this.#snapshot = value ?? null;
    this.#render();
  }

  /** Replacements for any of the default strings; read back as given. */
  get strings(): Partial<DownloadStrings> {
    return this.#overrides ?? {};
  }

  set strings(value: Partial<DownloadStrings> | null) {
    this.#overrides = value ?? null;
    this.#strings = mergeStrings(value);
    this.#milestones = null;
    this.#failureKey = this.#noticeKey = '';
    labelButtons(this.#parts.buttons, this.#strings);
    this.#render();
  }

  /** Whether the modal is showing; reflects the `open` attribute. */
  get open(): boolean {
    return this.hasAttribute('open');
  }

  set open(value: boolean) {
    this.toggleAttribute('open', Boolean(value));
  }

  /** Opens the modal (focus moves into it; the rest of the page is inert until it closes). */
  show(): void {
    this.open = true;
  }

  /** Hides the modal without an event; the download, if any, goes on. */
  hide(): void {
    this.open = false;
  }

  connectedCallback(): void {
    // A property set before the element was defined is an own property that hides the accessor.
    for (const name of ['snapshot', 'strings', 'open'] as const) {
      if (Object.hasOwn(this, name)) {
        const value: unknown = (this as Record<string, unknown>)[name];
        delete (this as Record<string, unknown>)[name];
        (this as Record<string, unknown>)[name] = value;
      }
    }
    this.#render();
    this.#syncOpen();
  }

  disconnectedCallback(): void {
    this.#stopTicker();
    clearTimeout(this.#announceLater);
  }

  attributeChangedCallback(name: string): void {
    if (name === 'open') this.#syncOpen();
  }

  #syncOpen(): void {
    const { dialog } = this.#parts;
    if (this.open && this.isConnected && !dialog.open) {
      dialog.showModal();
      this.#focusPrimary();
    } else if (!this.open && dialog.open) {
      dialog.close();
    }
  }

  /** Escape (or any other close request) hides the modal; it never cancels the download. */
  #onDialogClosed(): void {
    if (!this.open) return; // closed by hide()
    this.removeAttribute('open');
    this.#emit('background');
  }

  #act(action: DownloadAction): void {
    if (action === 'background') this.hide();
    this.#emit(action);
  }

  #emit(action: DownloadAction): void {
    const detail: DownloadActionDetail = { action };
    this.dispatchEvent(new CustomEvent('modelhaul-action', { detail, bubbles: true, composed: true }));
  }

  #render(): void {
    const parts = this.#parts;
    const locale = this.closest('[lang]')?.getAttribute('lang') || undefined;
    if (this.#formats.locale !== locale) this.#formats = new Formats(locale);
    const view = downloadView({ snapshot: this.#snapshot, strings: this.#strings, formats: this.#formats, now: Date.now() });
    const root = this.shadowRoot;
    const focused = root?.activeElement ?? null;

    parts.dialog.dataset['tone'] = view.tone;
    parts.dialog.setAttribute('part', `dialog phase-${view.phase}`);
    if (this.#phase !== view.phase) drawIcon(parts.icon, view.phase);
    this.#phase = view.phase;
    setText(parts.heading, view.heading);
    setText(parts.message, view.message);
    parts.dialog.setAttribute('aria-describedby', view.failure ? 'modelhaul-alert' : 'modelhaul-message');

    renderItems(parts.capabilities, view.capabilities, false);
    parts.space.hidden = view.space === null;
    setText(parts.space, view.space?.text ?? '');
    parts.space.toggleAttribute('data-short', view.space?.short === true);
    this.#renderProgress(view);
    parts.countdown.hidden = view.countdown === null;
    setText(parts.countdown, view.countdown ?? '');
    this.#noticeKey = renderFailure(parts.notice, view.notice, this.#noticeKey, this.#strings);
    parts.notice.hidden = view.notice === null;
    this.#failureKey = renderFailure(parts.alert, view.failure, this.#failureKey, this.#strings);
    renderItems(parts.artifacts, view.artifacts, true);
    this.#renderButtons(view.buttons);
    this.#announce(view);
    this.#restoreFocus(focused);

    if (view.phase === 'retry-wait' && this.isConnected) this.#startTicker();
    else this.#stopTicker();
  }

  #renderProgress(view: DownloadView): void {
    const { progress, track, bar, stats, statsValue, statsDetail } = this.#parts;
    const shown = view.progress;
    progress.hidden = shown === null;
    if (!shown) return;
    track.toggleAttribute('data-indeterminate', shown.percent === null);
    if (shown.percent === null) {
      track.removeAttribute('aria-valuenow');
      bar.style.removeProperty('width');
    } else {
      track.setAttribute('aria-valuenow', String(shown.percent));
      // CSSOM, not a style attribute: allowed under a CSP without 'unsafe-inline'.
      bar.style.width = `${shown.percent}%`;
    }
    track.setAttribute('aria-valuetext', shown.valueText);
    setText(statsValue, shown.valueText);
    setText(statsDetail, shown.detail);
    stats.hidden = shown.percent === null;
  }

  /** Shows the phase's buttons in order, moving nodes only when the set or order changes. */
  #renderButtons(ids: ButtonId[]): void {
    const { actions, buttons } = this.#parts;
    const wanted = ids.map((id) => buttons[id]);
    wanted.forEach((button, index) => button.classList.toggle('primary', index === wanted.length - 1));
    const current = [...actions.children];
    if (current.length !== wanted.length || current.some((node, index) => node !== wanted[index])) actions.replaceChildren(...wanted);
  }

  /**
   * Focus stays where the person left it when the phase changes: on the same button if it is still
   * there (it may have been moved), else on the new primary button (Resume after Pause).
   */
  #restoreFocus(focused: Element | null): void {
    if (!this.#parts.dialog.open || focused === null) return;
    const root = this.shadowRoot;
    if (focused.isConnected && !(focused as HTMLElement).closest('[hidden]')) {
      if (root?.activeElement !== focused) (focused as HTMLElement).focus();
      return;
    }
    this.#focusPrimary();
  }

  #focusPrimary(): void {
    const primary = this.#parts.actions.lastElementChild as HTMLElement | null;
    (primary ?? this.#parts.dialog).focus();
  }

  /**
   * Says the milestones that are new since the last snapshot in the polite status region. The
   * first render says nothing: opening the dialog reads its name and description already.
   */
  #announce(view: DownloadView): void {
    const previous = this.#milestones;
    this.#milestones = new Set(view.milestones.map((milestone) => milestone.key));
    if (previous === null) return;
    const text = view.milestones
      .filter((milestone) => !previous.has(milestone.key) && milestone.text !== '')
      .map((milestone) => milestone.text)
      .join(' ');
    if (text === '') return;
    const { status } = this.#parts;
    clearTimeout(this.#announceLater);
    if (status.textContent !== text) {
      status.textContent = text;
      return;
    }
    // The same words again (paused twice): clear first, or the change would be no change at all.
    status.textContent = '';
    this.#announceLater = setTimeout(() => (status.textContent = text), 150);
  }

  #startTicker(): void {
    this.#ticker ??= setInterval(() => this.#render(), 1000);
  }

  #stopTicker(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'modelhaul-download': ModelhaulDownloadElement;
  }
  interface HTMLElementEventMap {
    'modelhaul-action': CustomEvent<DownloadActionDetail>;
  }
}
