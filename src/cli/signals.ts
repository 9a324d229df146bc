/**
 * Turns SIGINT and SIGTERM into an AbortSignal, so the engine can stop cleanly: partial downloads
 * checkpointed, the lock released. A second signal while stopping exits at once; the on-disk
 * state is consistent at every instant, so nothing is lost but the bytes in flight.
 */
export interface Interruption {
  signal: AbortSignal;
  /** Which signal stopped us, if any. */
  readonly received: NodeJS.Signals | undefined;
  dispose(): void;
}

export function listenForInterruption(onSecondSignal: (signal: NodeJS.Signals) => void): Interruption {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    if (received !== undefined) {
      onSecondSignal(signal);
      return;
    }
    received = signal;
    controller.abort(new Error(`Interrupted by ${signal}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
