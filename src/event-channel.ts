/**
 * A queue from a callback producer to one async-iterator consumer. Events are never dropped:
 * a consumer that is slower than the producer reads them later, in order.
 */
export class EventChannel<T> {
  private readonly queue: T[] = [];
  private waiting: ((value: IteratorResult<T>) => void) | undefined;
  private failWaiting: ((error: unknown) => void) | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  push(value: T): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.clearWaiter();
      resolve({ value, done: false });
    } else {
      this.queue.push(value);
    }
  }

  close(): void {
    this.closed = true;
    if (this.waiting) {
      const resolve = this.waiting;
      this.clearWaiter();
      resolve({ value: undefined, done: true });
    }
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.closed = true;
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.clearWaiter();
      reject(error);
    }
  }

  /** The consumer side; `onReturn` runs when the consumer stops early (break, throw). */
  async *iterate(onReturn: () => void): AsyncGenerator<T> {
    let finished = false;
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.failure) throw this.failure.error;
        if (this.closed) {
          finished = true;
          return;
        }
        const result = await new Promise<IteratorResult<T>>((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
        if (result.done) {
          finished = true;
          return;
        }
        yield result.value;
      }
    } finally {
      if (!finished && !this.failure) onReturn();
    }
  }

  private clearWaiter(): void {
    this.waiting = undefined;
    this.failWaiting = undefined;
  }
}
