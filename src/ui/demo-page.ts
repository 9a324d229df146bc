/**
 * The behaviour of `modelhaul demo --browser`'s page (src/demo/browser-demo-page.ts): snapshots
 * arrive as server-sent events and go into `<modelhaul-download>`; its actions, the fault switches
 * and "Start over" go back as POSTs. Everything is relative to the page's URL, whose path holds
 * the token the server requires. Not part of `modelhaul/ui`'s API: an example of wiring the
 * element to a lifecycle in another process, as an Electron renderer would over IPC.
 */
import './index.js';
import type { LifecycleSnapshot } from '../lifecycle/snapshot.js';
import type { ArtifactKind } from '../manifest/types.js';

interface Faults {
  cut: boolean;
  stall: boolean;
  offline: boolean;
  damaged: boolean;
}

const modal = document.querySelector('modelhaul-download');
const summary = document.getElementById('models-summary');
const base = new URL('./', location.href);

/** Phases a person has to see: the app brings the modal back for them. */
const NEEDS_ATTENTION = new Set(['missing', 'blocked', 'failed']);

async function post(path: 'action' | 'fault' | 'reset', body: object): Promise<void> {
  const response = await fetch(new URL(path, base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

function report(error: unknown): void {
  if (summary) summary.textContent = `Lost touch with the demo: ${error instanceof Error ? error.message : String(error)}`;
}

function showFeatures(snapshot: LifecycleSnapshot): void {
  for (const item of document.querySelectorAll<HTMLElement>('.feature')) {
    const kind = item.dataset['kind'] as ArtifactKind;
    const ready = snapshot.capabilities[kind].ready;
    item.dataset['ready'] = String(ready);
    const state = item.querySelector<HTMLElement>('.feature-state');
    if (state) state.textContent = ready ? 'Ready' : `Needs ${(state.dataset['needs'] ?? '').toLowerCase()}`;
  }
}

function showSummary(snapshot: LifecycleSnapshot): void {
  if (!summary) return;
  const percent = snapshot.total > 0 ? Math.floor((snapshot.bytes / snapshot.total) * 100) : 0;
  const words: Record<LifecycleSnapshot['phase'], string> = {
    checking: 'Checking models…',
    missing: 'Models not downloaded',
    downloading: `Downloading models · ${percent}%`,
    paused: `Download paused · ${percent}%`,
    offline: `Offline · ${percent}%`,
    'retry-wait': `Connection problem · ${percent}%`,
    verifying: 'Checking models…',
    blocked: 'Models: action needed',
    failed: 'Model download failed',
    ready: 'Models ready',
  };
  summary.textContent = words[snapshot.phase];
}

let lastPhase: string | null = null;
const events = new EventSource(new URL('events', base));
events.addEventListener('snapshot', (event) => {
  const snapshot = JSON.parse((event as MessageEvent<string>).data) as LifecycleSnapshot;
  if (!modal) return;
  modal.snapshot = snapshot;
  showFeatures(snapshot);
  showSummary(snapshot);
  // The first snapshot opens the modal whatever the phase (a reload mid-download shows where it is).
  if (lastPhase === null || (snapshot.phase !== lastPhase && NEEDS_ATTENTION.has(snapshot.phase))) modal.show();
  lastPhase = snapshot.phase;
});
events.addEventListener('faults', (event) => {
  const faults = JSON.parse((event as MessageEvent<string>).data) as Faults;
  for (const input of document.querySelectorAll<HTMLInputElement>('input[data-fault]')) {
    input.checked = faults[input.dataset['fault'] as keyof Faults];
  }
});

modal?.addEventListener('modelhaul-action', (event) => {
  const { action } = event.detail;
  if (action !== 'background') post('action', { action }).catch(report);
});

document.getElementById('show-download')?.addEventListener('click', () => modal?.show());

for (const input of document.querySelectorAll<HTMLInputElement>('input[data-fault]')) {
  input.addEventListener('change', () => {
    post('fault', { fault: input.dataset['fault'], on: input.checked })
      // Show what the switch does, as an app shows its download window when something happens.
      .then(() => setTimeout(() => modal?.show(), 400))
      .catch(report);
  });
}

document.getElementById('start-over')?.addEventListener('click', () => {
  lastPhase = null;
  post('reset', {}).catch(report);
});
