/**
 * The look of `<modelhaul-download>`, and how it gets into the page. The rules go into a
 * constructable stylesheet adopted by the shadow root: a Content-Security-Policy without
 * `'unsafe-inline'` blocks `<style>` elements and `style` attributes, but not a sheet built with
 * `new CSSStyleSheet()`, nor properties set through the CSSOM (`element.style.width = ...`), which
 * is how the bars move. One sheet is shared by every instance.
 *
 * Theming: every colour, the radius, the font and the width read a `--modelhaul-*` custom property
 * first (custom properties inherit through the shadow boundary), and every block has a `part`
 * name for `::part()`. Dark colours follow `prefers-color-scheme`; `forced-colors` hands colours
 * to the system; `prefers-reduced-motion` stops the bars' movement.
 */

const CSS = String.raw`
:host {
  --_bg: var(--modelhaul-background, #ffffff);
  --_fg: var(--modelhaul-text, #17191c);
  --_muted: var(--modelhaul-muted, #5a6270);
  --_border: var(--modelhaul-border, #e2e5ea);
  --_surface: var(--modelhaul-surface, #f5f6f8);
  --_track: var(--modelhaul-track, #e6e9ee);
  --_accent: var(--modelhaul-accent, #2358d8);
  --_accent-text: var(--modelhaul-accent-text, #ffffff);
  --_success: var(--modelhaul-success, #1a7f4b);
  --_warning: var(--modelhaul-warning, #9a5b00);
  --_warning-bg: var(--modelhaul-warning-background, #fff7e6);
  --_danger: var(--modelhaul-danger, #b42318);
  --_danger-bg: var(--modelhaul-danger-background, #fef1f0);
  --_radius: var(--modelhaul-radius, 14px);
  --_font: var(--modelhaul-font, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif);
  --_width: var(--modelhaul-width, 32rem);
  --_shadow: var(--modelhaul-shadow, 0 1px 2px rgb(16 24 40 / 0.06), 0 24px 48px -12px rgb(16 24 40 / 0.28));
  --_tone: var(--_accent);
  display: contents;
}
@media (prefers-color-scheme: dark) {
  :host {
    --_bg: var(--modelhaul-background, #1d2026);
    --_fg: var(--modelhaul-text, #eceef1);
    --_muted: var(--modelhaul-muted, #a3abb8);
    --_border: var(--modelhaul-border, #343943);
    --_surface: var(--modelhaul-surface, #252931);
    --_track: var(--modelhaul-track, #333843);
    --_accent: var(--modelhaul-accent, #7aa7ff);
    --_accent-text: var(--modelhaul-accent-text, #0b1222);
    --_success: var(--modelhaul-success, #5fd39a);
    --_warning: var(--modelhaul-warning, #f3b453);
    --_warning-bg: var(--modelhaul-warning-background, #3a2e18);
    --_danger: var(--modelhaul-danger, #ff8f85);
    --_danger-bg: var(--modelhaul-danger-background, #3d2221);
    --_shadow: var(--modelhaul-shadow, 0 24px 48px -12px rgb(0 0 0 / 0.6));
  }
}
[data-tone="waiting"] { --_tone: var(--_muted); }
[data-tone="attention"] { --_tone: var(--_warning); }
[data-tone="danger"] { --_tone: var(--_danger); }
[data-tone="success"] { --_tone: var(--_success); }

dialog {
  box-sizing: border-box;
  width: min(var(--_width), calc(100vw - 2rem));
  max-height: calc(100dvh - 2rem);
  overflow: auto;
  margin: auto;
  padding: 1.5rem;
  border: 1px solid var(--_border);
  border-radius: var(--_radius);
  background: var(--_bg);
  color: var(--_fg);
  box-shadow: var(--_shadow);
  font: 400 0.9375rem/1.5 var(--_font);
  -webkit-font-smoothing: antialiased;
}
dialog::backdrop { background: var(--modelhaul-backdrop, rgb(15 18 25 / 0.5)); }
dialog:focus { outline: none; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }

.header { display: flex; align-items: center; gap: 0.75rem; margin: 0 0 0.5rem; }
.icon {
  flex: none;
  display: grid;
  place-items: center;
  width: 2.25rem;
  height: 2.25rem;
  border-radius: 50%;
  color: var(--_tone);
  background: color-mix(in srgb, var(--_tone) 13%, transparent);
}
.icon svg { width: 1.25rem; height: 1.25rem; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
h2 { margin: 0; font-size: 1.1875rem; font-weight: 650; line-height: 1.3; letter-spacing: -0.01em; }
.message { margin: 0 0 1rem; color: var(--_muted); }
.message:empty { display: none; }

.list { list-style: none; margin: 0 0 1rem; padding: 0; border: 1px solid var(--_border); border-radius: calc(var(--_radius) - 4px); }
.item { display: grid; grid-template-columns: 1fr auto; align-items: center; column-gap: 1rem; row-gap: 0.375rem; padding: 0.625rem 0.875rem; }
.item + .item { border-top: 1px solid var(--_border); }
.item-name { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.item-value { color: var(--_muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.item[data-done] .item-value { color: var(--_success); font-weight: 600; }
.item[data-done] .item-value::before { content: "✓\00a0"; }
.item.total { background: var(--_surface); font-weight: 600; }
.item.total .item-value { color: var(--_fg); }
.item .bar-track { grid-column: 1 / -1; height: 4px; }
.artifacts .item { padding-block: 0.5rem; font-size: 0.875rem; }

.space { margin: -0.5rem 0 1rem; color: var(--_muted); font-size: 0.875rem; }
.space[data-short] { color: var(--_danger); font-weight: 600; }

.progress { margin: 0 0 1rem; }
.bar-track { position: relative; height: 8px; overflow: hidden; border-radius: 999px; background: var(--_track); }
.bar { position: absolute; inset: 0 auto 0 0; width: 0; border-radius: inherit; background: var(--_tone); transition: width 0.4s ease-out; }
[data-indeterminate] > .bar { width: 36%; animation: modelhaul-slide 1.4s ease-in-out infinite; }
@keyframes modelhaul-slide { from { left: -36%; } to { left: 100%; } }
.item[data-done] .bar { background: var(--_success); }
.stats { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0.25rem 1rem; margin-top: 0.5rem; font-size: 0.875rem; color: var(--_muted); font-variant-numeric: tabular-nums; }
.stats-value { color: var(--_fg); }

.countdown { margin: 0 0 0.75rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.notice { margin: 0 0 1rem; padding: 0.75rem 0.875rem; border-radius: calc(var(--_radius) - 4px); background: var(--_warning-bg); }
.alert:not(:empty) { margin: 0 0 1rem; padding: 0.875rem 1rem; border-radius: calc(var(--_radius) - 4px); background: var(--_danger-bg); border: 1px solid color-mix(in srgb, var(--_danger) 30%, transparent); }
.hint { margin: 0; }
details { margin-top: 0.5rem; font-size: 0.875rem; color: var(--_muted); }
summary { cursor: pointer; width: max-content; border-radius: 4px; }
details p { margin: 0.375rem 0 0; overflow-wrap: anywhere; }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 0.8125rem; color: var(--_fg); }

.actions { display: flex; flex-wrap: wrap; justify-content: flex-end; gap: 0.5rem; margin-top: 1.5rem; }
button {
  min-height: 2.375rem;
  padding: 0 0.875rem;
  border: 1px solid var(--_border);
  border-radius: calc(var(--_radius) - 6px);
  background: var(--_bg);
  color: var(--_fg);
  font: 600 0.875rem/1 var(--_font);
  cursor: pointer;
  transition: background-color 0.15s, border-color 0.15s;
}
button:hover { background: var(--_surface); }
button.primary { border-color: var(--_accent); background: var(--_accent); color: var(--_accent-text); }
button.primary:hover { background: color-mix(in srgb, var(--_accent) 88%, var(--_fg)); }
button:focus-visible, summary:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px; }
button.cancel { margin-inline-end: auto; color: var(--_danger); }

.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip-path: inset(50%); white-space: nowrap; border: 0; }

@media (prefers-reduced-motion: reduce) {
  .bar, button { transition: none; }
  [data-indeterminate] > .bar { left: 0; width: 100%; opacity: 0.45; animation: none; }
}

@media (forced-colors: active) {
  dialog { border: 2px solid CanvasText; }
  .icon { border: 1px solid CanvasText; }
  .bar-track { border: 1px solid CanvasText; background: Canvas; }
  .bar { forced-color-adjust: none; background: Highlight; }
  .alert:not(:empty), .notice, .list { border: 1px solid CanvasText; }
  button.primary { border: 2px solid ButtonText; }
  button:focus-visible, summary:focus-visible { outline-color: Highlight; }
}
`;

let shared: CSSStyleSheet | undefined;

/**
 * Puts the element's rules into its shadow root: an adopted sheet where the browser has them
 * (every current one), else a `<style>` element, which works everywhere but under a strict CSP.
 */
export function applyStyles(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    if (!shared) {
      shared = new CSSStyleSheet();
      shared.replaceSync(CSS);
    }
    root.adoptedStyleSheets = [shared];
    return;
  }
  const style = root.ownerDocument.createElement('style');
  style.textContent = CSS;
  root.append(style);
}
