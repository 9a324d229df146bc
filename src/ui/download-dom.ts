/**
 * The nodes of `<modelhaul-download>`'s shadow root: built once with `createElement` (never
 * `innerHTML`, so no snapshot text is parsed as markup and Trusted Types has nothing to block),
 * then updated in place by the helpers below, which touch a node only when its content changes.
 */
import type { DownloadStrings } from './download-strings.js';
import { BUTTON_ACTIONS, type ButtonId, type FailureView, type ItemView } from './download-view.js';

/** The nodes that change with the snapshot; built once per element. */
export interface Parts {
  dialog: HTMLDialogElement;
  icon: HTMLElement;
  heading: HTMLElement;
  message: HTMLElement;
  alert: HTMLElement;
  capabilities: HTMLElement;
  space: HTMLElement;
  progress: HTMLElement;
  track: HTMLElement;
  bar: HTMLElement;
  stats: HTMLElement;
  statsValue: HTMLElement;
  statsDetail: HTMLElement;
  countdown: HTMLElement;
  notice: HTMLElement;
  artifacts: HTMLElement;
  status: HTMLElement;
  actions: HTMLElement;
  buttons: Record<ButtonId, HTMLButtonElement>;
}

export const BUTTON_IDS = Object.keys(BUTTON_ACTIONS) as ButtonId[];

function el<K extends keyof HTMLElementTagNameMap>(
  document: Document,
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function buildParts(root: ShadowRoot, strings: DownloadStrings): Parts {
  const d = root.ownerDocument;
  const heading = el(d, 'h2', { id: 'modelhaul-heading', part: 'heading' });
  const icon = el(d, 'span', { class: 'icon', part: 'icon' });
  const message = el(d, 'p', { id: 'modelhaul-message', class: 'message', part: 'message' });
  const alert = el(d, 'div', { id: 'modelhaul-alert', class: 'alert', part: 'alert', role: 'alert' });
  const notice = el(d, 'div', { class: 'notice', part: 'notice', hidden: '' });
  const capabilities = el(d, 'ul', { class: 'list capabilities', part: 'capabilities' });
  const space = el(d, 'p', { class: 'space', part: 'space', hidden: '' });
  const bar = el(d, 'div', { class: 'bar', part: 'progress-bar' });
  const track = el(d, 'div', { class: 'bar-track', part: 'progress-track', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-label': strings.progressLabel }, bar);
  const statsValue = el(d, 'span', { class: 'stats-value' });
  const statsDetail = el(d, 'span', { class: 'stats-detail' });
  const stats = el(d, 'div', { class: 'stats', part: 'stats', 'aria-hidden': 'true' }, statsValue, statsDetail);
  const progress = el(d, 'div', { class: 'progress', part: 'progress' }, track, stats);
  const countdown = el(d, 'p', { class: 'countdown', part: 'countdown', hidden: '' });
  const artifacts = el(d, 'ul', { class: 'list artifacts', part: 'artifacts' });
  const status = el(d, 'div', { class: 'visually-hidden', role: 'status' });
  const actions = el(d, 'div', { class: 'actions', part: 'actions' });
  const buttons = Object.fromEntries(
    BUTTON_IDS.map((id) => [id, el(d, 'button', { type: 'button', 'data-id': id, class: id, part: `button button-${id}` })]),
  ) as Record<ButtonId, HTMLButtonElement>;
  labelButtons(buttons, strings);
  const header = el(d, 'div', { class: 'header', part: 'header' }, icon, heading);
  const dialog = el(d, 'dialog', { part: 'dialog', 'aria-labelledby': 'modelhaul-heading', 'aria-describedby': 'modelhaul-message' },
    header, countdown, message, alert, notice, capabilities, space, progress, artifacts, actions, status);
  root.append(dialog);
  return { dialog, icon, heading, message, alert, capabilities, space, progress, track, bar, stats, statsValue, statsDetail, countdown, notice, artifacts, status, actions, buttons };
}

export function labelButtons(buttons: Record<ButtonId, HTMLButtonElement>, strings: DownloadStrings): void {
  for (const id of BUTTON_IDS) setText(buttons[id], strings[id]);
}

export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Rebuilds a hint-and-details block only when the failure changes, so that an opened "Details"
 * stays open and the alert is not announced again on every snapshot. Returns the new key.
 */
export function renderFailure(holder: HTMLElement, failure: FailureView | null, previousKey: string, strings: DownloadStrings): string {
  const key = failure ? JSON.stringify(failure) : '';
  if (key === previousKey) return key;
  if (!failure) {
    holder.replaceChildren();
    return key;
  }
  const d = holder.ownerDocument;
  const code = el(d, 'code', { part: 'code' });
  code.textContent = failure.code;
  const message = el(d, 'p', {}, code);
  if (failure.message) message.append(d.createElement('br'), failure.message);
  const summary = el(d, 'summary');
  summary.textContent = strings.details;
  const hint = el(d, 'p', { class: 'hint', part: 'hint' });
  hint.textContent = failure.hint;
  holder.replaceChildren(hint, el(d, 'details', { part: 'details' }, summary, message));
  return key;
}

/** One row per item, reused by key so that updates touch only text and widths. */
export function renderItems(list: HTMLElement, items: ItemView[], withBars: boolean): void {
  list.hidden = items.length === 0;
  const existing = new Map<string, HTMLElement>();
  for (const row of list.children) existing.set((row as HTMLElement).dataset['key'] ?? '', row as HTMLElement);
  const rows = items.map((item) => {
    let row = existing.get(item.key);
    if (!row) {
      const d = list.ownerDocument;
      row = el(d, 'li', { class: item.key === 'total' ? 'item total' : 'item', part: 'item', 'data-key': item.key },
        el(d, 'span', { class: 'item-name' }), el(d, 'span', { class: 'item-value' }));
      if (withBars) row.append(el(d, 'div', { class: 'bar-track', 'aria-hidden': 'true' }, el(d, 'div', { class: 'bar' })));
    }
    const [name, value, track] = row.children;
    if (name) setText(name, item.name);
    if (value) setText(value, item.value);
    row.toggleAttribute('data-done', item.done);
    const bar = track?.firstElementChild as HTMLElement | null | undefined;
    if (bar) bar.style.width = `${item.percent ?? 0}%`;
    return row;
  });
  const current = [...list.children];
  if (current.length !== rows.length || current.some((node, index) => node !== rows[index])) list.replaceChildren(...rows);
}
