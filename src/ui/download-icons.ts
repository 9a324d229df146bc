/**
 * The small picture beside the heading, one per phase: stroked 24×24 outlines built as SVG nodes
 * (no markup strings, so nothing here needs `innerHTML` or trips a Trusted Types policy).
 * Decorative only: the heading says the same in words.
 */
import type { LifecyclePhase } from '../lifecycle/snapshot.js';

const PATHS: Readonly<Record<LifecyclePhase, string[]>> = {
  checking: ['M11 4a7 7 0 1 0 0 14a7 7 0 0 0 0-14z', 'M20 20l-4-4'],
  missing: ['M12 4v11', 'M7 10l5 5 5-5', 'M5 20h14'],
  downloading: ['M12 4v11', 'M7 10l5 5 5-5', 'M5 20h14'],
  paused: ['M9 6v12', 'M15 6v12'],
  offline: ['M2.5 9a14 14 0 0 1 19 0', 'M5.5 12.5a9.5 9.5 0 0 1 13 0', 'M9 16a4.5 4.5 0 0 1 6 0', 'M12 19.5h.01', 'M4 4l16 16'],
  'retry-wait': ['M20 12a8 8 0 1 1-2.4-5.7', 'M20 4v5h-5'],
  verifying: ['M12 3l7 3v5c0 4.5-3 8.3-7 9.5c-4-1.2-7-5-7-9.5V6z', 'M9 12l2 2 4-4'],
  blocked: ['M10.3 4.2L2.6 17.5a2 2 0 0 0 1.7 3h15.4a2 2 0 0 0 1.7-3L13.7 4.2a2 2 0 0 0-3.4 0z', 'M12 9.5v4', 'M12 17h.01'],
  failed: ['M12 3a9 9 0 1 0 0 18a9 9 0 0 0 0-18z', 'M9 9l6 6', 'M15 9l-6 6'],
  ready: ['M5 12.5l4.5 4.5L19 7.5'],
};

const SVG = 'http://www.w3.org/2000/svg';

/** Replaces the contents of `holder` with the icon of `phase`. */
export function drawIcon(holder: Element, phase: LifecyclePhase): void {
  const document = holder.ownerDocument;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of PATHS[phase]) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  holder.replaceChildren(svg);
}
