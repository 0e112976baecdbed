/**
 * Clocks for turn-taking: the consumer's clock that paces the bot's playout. {@link systemClock} is
 * the real one (`performance.now()` and timers); a {@link VirtualClock} moves only when told to, so
 * tests (and offline simulations) are exact and never wait or assert on wall-clock time.
 *
 * @module
 */
import { ArgumentError } from "../errors.ts";

/** A monotonic clock in milliseconds, with one-shot timers on it. */
export interface Clock {
  /** The time now, in milliseconds (any origin; only differences matter). */
  now(): number;
  /** Calls `callback` once `ms` have passed on this clock; the returned function cancels it. */
  setTimer(ms: number, callback: () => void): () => void;
}

/**
 * The real clock: `performance.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * import { systemClock } from "./mod.ts";
 * const cancel = systemClock.setTimer(20, () => console.log("20 ms later"));
 * cancel();
 * ```
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms: number, callback: () => void): () => void {
    const timer = setTimeout(callback, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A clock that moves only when {@link VirtualClock.advance} is called. Timers fire in time order
 * (then in the order they were set), each seeing `now()` equal to its own due time, so a playout
 * driven by it releases audio exactly when it would in real time.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "./mod.ts";
 * const clock = new VirtualClock();
 * clock.setTimer(30, () => console.log(clock.now())); // 30
 * clock.advance(100);
 * clock.now(); // 100
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #seq = 0;

  /** A clock that reads `start` until advanced. */
  constructor(start = 0) {
    if (!Number.isFinite(start)) {
      throw new ArgumentError(`VirtualClock: start must be a finite number, got ${start}`);
    }
    this.#now = start;
  }

  /** The time now (ms). */
  now(): number {
    return this.#now;
  }

  /** Sets a timer `ms` from now (a negative or zero delay fires at the next advance). */
  setTimer(ms: number, callback: () => void): () => void {
    if (!Number.isFinite(ms)) {
      throw new ArgumentError(`VirtualClock.setTimer: ms must be a finite number, got ${ms}`);
    }
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, callback };
    this.#timers.push(timer);
    return () => {
      const i = this.#timers.indexOf(timer);
      if (i >= 0) this.#timers.splice(i, 1);
    };
  }

  /** Moves the clock `ms` forward, firing every timer due on the way at its own time. */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new ArgumentError(`VirtualClock.advance: ms must be a finite number ≥ 0, got ${ms}`);
    }
    this.advanceTo(this.#now + ms);
  }

  /** Moves the clock to `time` (not backwards), firing every timer due on the way. */
  advanceTo(time: number): void {
    if (!Number.isFinite(time) || time < this.#now) {
      throw new ArgumentError(
        `VirtualClock.advanceTo: time must be finite and ≥ now (${this.#now}), got ${time}`,
      );
    }
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers) {
        if (t.at <= time && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) {
          next = t;
        }
      }
      if (!next) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#now = next.at;
      next.callback();
    }
    this.#now = time;
  }

  /** Timers set and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }
}
