/**
 * The listener list of the turn-taking objects (playout, barge-in): `subscribe` / unsubscribe, and
 * delivery that never leaves the emitter half-updated — a listener that throws is reported through
 * `reportError` (like an `EventTarget` listener), not into the middle of the playout's bookkeeping.
 *
 * @module
 */

/** Called with each event; see the emitter for the event types. */
export type Listener<E> = (event: E) => void;

/** A list of listeners. @internal */
export class Listeners<E> {
  #listeners: Listener<E>[] = [];

  /** Adds `listener` (and `first`, an options callback, ahead of the others). */
  constructor(first?: Listener<E>) {
    if (first) this.#listeners.push(first);
  }

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: Listener<E>): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Delivers `event` to every listener. */
  emit(event: E): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
        if (report) report(error);
        else {queueMicrotask(() => {
            throw error;
          });}
      }
    }
  }
}
