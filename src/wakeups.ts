/**
 * Wake-ups of threaded sessions (internal). Their graphs run on the native worker pool, which bumps
 * one global event counter on progress; one native wait per JavaScript thread (`waitEvents`: Deno's
 * `nonblocking` call, Bun's waiter Worker) watches it for every session. After each wait returns,
 * `rm_events_ready` names this thread's sessions that made progress, and only their waiters are
 * woken — so a thousand waiting sessions do not all look at themselves whenever one of them has an
 * output. The wait is in flight only while a caller waits (`next()`, `push()`, `events()`, `done`…):
 * an idle or forgotten session keeps nothing pending.
 *
 * @module
 */
import type { NativeLibrary } from "../ffi/symbols.ts";
import { Signal } from "./session_state.ts";

/** How long one native wait lasts before it is renewed, and every waiter looks again. */
const WAIT_MS = 1000;

interface Watch {
  signal: Signal;
  waiters: number;
}

/** The watched sessions of one loaded library, and its wait loop. */
class Watcher {
  readonly #native: NativeLibrary;
  readonly #watched = new Map<number, Watch>();
  readonly #ready = new Float64Array(512);
  #running = false;

  constructor(native: NativeLibrary) {
    this.#native = native;
  }

  /** Resolves once session `handle` made progress; `release()` when the wait is over. */
  watch(handle: number): { progress: Promise<void>; release: () => void } {
    let w = this.#watched.get(handle);
    if (!w) {
      w = { signal: new Signal(), waiters: 0 };
      this.#watched.set(handle, w);
    }
    w.waiters++;
    const watch = w;
    if (!this.#running) void this.#loop();
    let released = false;
    return {
      progress: watch.signal.wait(),
      release: () => {
        if (released) return;
        released = true;
        if (--watch.waiters === 0 && this.#watched.get(handle) === watch) {
          this.#watched.delete(handle);
        }
      },
    };
  }

  /** Wakes the waiters of every session listed as ready (all of them when the list is unreadable). */
  #drain(): void {
    const native = this.#native;
    for (;;) {
      const n = native.symbols.rm_events_ready(this.#ready, this.#ready.length);
      if (n < 0) {
        for (const w of this.#watched.values()) w.signal.notify();
        return;
      }
      for (let i = 0; i < n; i++) this.#watched.get(this.#ready[i])?.signal.notify();
      if (n < this.#ready.length) return;
    }
  }

  async #loop(): Promise<void> {
    this.#running = true;
    const native = this.#native;
    try {
      // The counter is read before the list is drained: progress listed after the drain bumps it.
      // Progress made while no wait was in flight counts as a completed wait (pumps look again).
      let last = native.symbols.rm_events_current();
      this.#drain();
      for (const hook of afterWake) hook(last);
      while (this.#watched.size > 0) {
        const count = await native.waitEvents(last, WAIT_MS);
        if (count === last) {
          // A quiet second: every waiter looks again (a backstop; progress is always listed).
          for (const w of this.#watched.values()) w.signal.notify();
        } else {
          last = count;
          this.#drain();
        }
        for (const hook of afterWake) hook(count);
        // The woken waiters run first: those that are done release their watch, so that a wait is
        // renewed only for sessions still waited on (a pending wait keeps the process alive).
        await nextMacrotask();
      }
    } catch {
      // The waiter failed (a closed library): let every waiter look for itself.
      for (const w of this.#watched.values()) w.signal.notify();
    } finally {
      this.#running = false;
    }
  }
}

/** Resolves after the pending promise reactions ran (`setImmediate` where there is one). */
function nextMacrotask(): Promise<void> {
  const global = globalThis as { setImmediate?: (callback: () => void) => void };
  return new Promise((resolve) =>
    global.setImmediate ? global.setImmediate(resolve) : setTimeout(resolve, 0)
  );
}

const watchers = new WeakMap<NativeLibrary, Watcher>();
const afterWake: ((count: number) => void)[] = [];

/**
 * Waits for progress of threaded session `handle` (an output, a task, a phase change, room for
 * input): `progress` resolves then; call `release()` once the wait is over, however it ended.
 * @internal
 */
export function watchSession(
  native: NativeLibrary,
  handle: number,
): { progress: Promise<void>; release: () => void } {
  let watcher = watchers.get(native);
  if (!watcher) {
    watcher = new Watcher(native);
    watchers.set(native, watcher);
  }
  return watcher.watch(handle);
}

/** Runs `hook` with the event count after every completed native wait that saw progress. @internal */
export function onNativeWake(hook: (count: number) => void): void {
  afterWake.push(hook);
}
