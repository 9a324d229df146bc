// Runs in the modal's test page: mounts <modelhaul-download>, records what it emits and says, and
// answers the tests' questions about focus and computed styles. Loaded as a module after the
// element's own module, under the same strict Content-Security-Policy as the page.
import type { ModelhaulDownloadElement } from '../../src/ui/download-element.js';
import type { CssViolation, ModalHarness } from './harness-api.js';

let element: ModelhaulDownloadElement | null = document.querySelector('modelhaul-download');
let actions: string[] = [];
let announcements: string[] = [];
let watcher: MutationObserver | null = null;

function current(): ModelhaulDownloadElement {
  if (!element) throw new Error('no <modelhaul-download> mounted');
  return element;
}

function shadow(): ShadowRoot {
  const root = current().shadowRoot;
  if (!root) throw new Error('<modelhaul-download> has no shadow root');
  return root;
}

function query(selector: string): HTMLElement {
  const node = shadow().querySelector<HTMLElement>(selector);
  if (!node) throw new Error(`nothing matches ${selector}`);
  return node;
}

function watch(target: ModelhaulDownloadElement): void {
  actions = [];
  announcements = [];
  target.addEventListener('modelhaul-action', (event) => actions.push(event.detail.action));
  watcher?.disconnect();
  const status = target.shadowRoot?.querySelector('[role="status"]');
  if (!status) return;
  watcher = new MutationObserver(() => {
    const text = status.textContent ?? '';
    if (text !== '') announcements.push(text);
  });
  watcher.observe(status, { childList: true, characterData: true, subtree: true });
}

if (element) watch(element);

const harness: ModalHarness = {
  mount(snapshot, options = {}) {
    element?.parentElement?.remove();
    const holder = document.createElement('div');
    if (options.lang) holder.lang = options.lang;
    const fresh = document.createElement('modelhaul-download');
    if (options.strings) fresh.strings = options.strings;
    fresh.snapshot = snapshot;
    holder.append(fresh);
    document.body.append(holder);
    element = fresh;
    watch(fresh);
    if (options.open !== false) fresh.open = true;
  },
  set(snapshot) {
    current().snapshot = snapshot;
  },
  setStrings(strings) {
    current().strings = strings;
  },
  open() {
    current().show();
  },
  openState() {
    const dialog = shadow().querySelector('dialog');
    return { element: current().open, dialog: dialog?.open === true, modal: dialog?.matches(':modal') === true };
  },
  actions: () => [...actions],
  focused() {
    const active = shadow().activeElement;
    if (!active) return null;
    return active.textContent?.trim() || active.tagName.toLowerCase();
  },
  announcements: () => [...announcements],
  style(selector, properties) {
    const style = getComputedStyle(query(selector));
    return Object.fromEntries(properties.map((name) => [name, style.getPropertyValue(name)]));
  },
  systemColor(name) {
    const probe = document.createElement('div');
    probe.style.backgroundColor = name;
    document.body.append(probe);
    const color = getComputedStyle(probe).backgroundColor;
    probe.remove();
    return color;
  },
  width: (selector) => query(selector).getBoundingClientRect().width,
  // Collected by the script test/helpers/browser.ts adds before any of the page's own.
  violations: () => [...((globalThis as { modelhaulViolations?: CssViolation[] }).modelhaulViolations ?? [])],
};

(globalThis as unknown as { harness: ModalHarness }).harness = harness;
