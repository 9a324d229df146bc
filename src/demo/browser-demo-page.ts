/**
 * The page of `modelhaul demo --browser`: a small "Voice Notes" app whose three features switch on
 * as their models arrive, the download modal, and the fault switches. Markup and styles only; the
 * behaviour is src/ui/demo-page.ts, loaded as a module. Everything is served from the page's own
 * origin, so the page runs under a strict Content-Security-Policy.
 */

/** The policy of every response: nothing inline, nothing from elsewhere, Trusted Types on. */
export const DEMO_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

interface Feature {
  kind: 'stt' | 'llm' | 'tts';
  name: string;
  needs: string;
  does: string;
}

const FEATURES: Feature[] = [
  { kind: 'stt', name: 'Dictation', needs: 'Speech recognition', does: 'Speak a note instead of typing it.' },
  { kind: 'llm', name: 'Assistant', needs: 'Language model', does: 'Summarise and tidy up your notes.' },
  { kind: 'tts', name: 'Read aloud', needs: 'Voice', does: 'Listen to a note.' },
];

interface FaultSwitch {
  fault: 'cut' | 'stall' | 'offline' | 'damaged';
  label: string;
  what: string;
}

const FAULTS: FaultSwitch[] = [
  { fault: 'cut', label: 'Cut the connection', what: 'The model server drops every connection: the download waits, then retries with a countdown.' },
  { fault: 'stall', label: 'Stall the server', what: 'The server stops sending but keeps the connection open: the speed falls to zero, then a retry.' },
  { fault: 'offline', label: 'Go offline', what: 'The app is told the network is gone: the download waits calmly and resumes by itself.' },
  { fault: 'damaged', label: 'Hand out damaged files', what: 'The server sends files with one byte changed: the checksum refuses them.' },
];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page. Relative URLs only: the page lives under its token path, and so does everything it loads. */
export function demoPageHtml(): string {
  const features = FEATURES.map(
    (f) => `
        <li class="feature" data-kind="${f.kind}" data-ready="false">
          <div class="feature-text">
            <h3>${escapeHtml(f.name)}</h3>
            <p>${escapeHtml(f.does)}</p>
          </div>
          <span class="feature-state" data-needs="${escapeHtml(f.needs)}">Needs ${escapeHtml(f.needs.toLowerCase())}</span>
        </li>`,
  ).join('');
  const faults = FAULTS.map(
    (f) => `
        <li>
          <label class="switch">
            <input type="checkbox" role="switch" data-fault="${f.fault}">
            <span class="switch-text"><strong>${escapeHtml(f.label)}</strong><small>${escapeHtml(f.what)}</small></span>
          </label>
        </li>`,
  ).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Voice Notes · modelhaul demo</title>
<link rel="icon" href="icon.svg">
<link rel="stylesheet" href="demo.css">
<script type="module" src="ui/demo-page.js"></script>
</head>
<body>
  <header class="topbar">
    <span class="brand">Voice Notes</span>
    <span class="badge">modelhaul demo</span>
    <span class="spacer"></span>
    <span id="models-summary" class="summary">Connecting…</span>
    <button id="show-download" type="button">Models</button>
  </header>
  <main>
    <section aria-labelledby="features-heading">
      <h1 id="features-heading">Features</h1>
      <p class="lead">Each feature switches on as soon as the model it needs is installed and checked; the others keep downloading.</p>
      <ul class="features">${features}
      </ul>
    </section>
    <section aria-labelledby="faults-heading" class="faults">
      <h2 id="faults-heading">Try a fault</h2>
      <p class="lead">Switch one on while the download runs; the download window opens to show what happens. Switch it off again to recover.</p>
      <ul class="switches">${faults}
      </ul>
      <button id="start-over" type="button" class="quiet">Start over (delete the downloaded files)</button>
    </section>
  </main>
  <modelhaul-download></modelhaul-download>
</body>
</html>
`;
}

export const DEMO_PAGE_CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --fg: #17191c; --muted: #5a6270; --border: #e2e5ea; --accent: #2358d8; --ok: #1a7f4b; }
@media (prefers-color-scheme: dark) { :root { --bg: #121418; --card: #1d2026; --fg: #eceef1; --muted: #a3abb8; --border: #343943; --accent: #7aa7ff; --ok: #5fd39a; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.topbar { display: flex; align-items: center; gap: 0.75rem; padding: 0.75rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--border); }
.brand { font-weight: 700; font-size: 1.05rem; }
.badge { font-size: 0.75rem; color: var(--muted); border: 1px solid var(--border); border-radius: 999px; padding: 0.1rem 0.5rem; }
.spacer { flex: 1; }
.summary { color: var(--muted); font-size: 0.875rem; font-variant-numeric: tabular-nums; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem; display: grid; gap: 2rem; }
h1 { font-size: 1.4rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.25rem; }
h3 { font-size: 1rem; margin: 0; }
.lead { margin: 0 0 1rem; color: var(--muted); }
ul { list-style: none; margin: 0; padding: 0; }
.features { display: grid; gap: 0.75rem; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); }
.feature { display: flex; flex-direction: column; justify-content: space-between; gap: 0.75rem; padding: 1rem; background: var(--card); border: 1px solid var(--border); border-radius: 12px; opacity: 0.7; }
.feature p { margin: 0.25rem 0 0; color: var(--muted); font-size: 0.875rem; }
.feature[data-ready="true"] { opacity: 1; border-color: var(--ok); }
.feature-state { font-size: 0.8125rem; font-weight: 600; color: var(--muted); }
.feature[data-ready="true"] .feature-state { color: var(--ok); }
.switches { display: grid; gap: 0.5rem; margin-bottom: 1rem; }
.switch { display: flex; gap: 0.75rem; align-items: flex-start; padding: 0.75rem 1rem; background: var(--card); border: 1px solid var(--border); border-radius: 10px; cursor: pointer; }
.switch input { margin-top: 0.3rem; width: 1.1rem; height: 1.1rem; accent-color: var(--accent); }
.switch-text { display: grid; }
.switch small { color: var(--muted); font-size: 0.8125rem; }
button { font: 600 0.875rem/1 inherit; padding: 0.55rem 0.9rem; border-radius: 8px; border: 1px solid var(--border); background: var(--card); color: var(--fg); cursor: pointer; }
button:focus-visible, input:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
button.quiet { color: var(--muted); }
`;

/** The tab's icon: a download arrow. Served by the page's origin, so the CSP needs no `data:`. */
export const DEMO_PAGE_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#2358d8" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"><path d="M12 4v11M7 10l5 5 5-5M5 20h14"/></svg>`;
