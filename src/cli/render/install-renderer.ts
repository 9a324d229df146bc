import type { InstallEvent } from '../../events.js';

/** Shows an install as it runs; the CLI picks one per output mode. */
export interface InstallRenderer {
  event(event: InstallEvent): void;
  /** Stops any live redrawing and prints what is left to print. */
  close(): void;
}

/** `--json`: every event as one line of JSON on stdout, the machine interface. */
export function jsonRenderer(write: (line: string) => void): InstallRenderer {
  return {
    event: (event) => write(JSON.stringify(event) + '\n'),
    close: () => undefined,
  };
}
