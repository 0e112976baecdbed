/**
 * Bun worker that blocks in `rm_events_wait` off the main thread and posts each result back, so the
 * main thread is woken by an ordinary message instead of polling. Bun has no `nonblocking` FFI calls.
 *
 * @module
 */

interface WaitRequest {
  path: string;
  last: number;
  timeoutMs: number;
}

type WaitFn = (last: number, timeoutMs: number) => number;

const scope = globalThis as unknown as {
  onmessage: ((event: { data: WaitRequest }) => void) | null;
  postMessage(value: number): void;
};
let wait: WaitFn | undefined;

scope.onmessage = (event: { data: WaitRequest }): void => {
  const { path, last, timeoutMs } = event.data;
  if (!wait) {
    const meta = import.meta as unknown as { require(specifier: string): unknown };
    const spec = "bun:ffi";
    const ffi = meta.require(spec) as {
      dlopen(
        path: string,
        symbols: Record<string, { args: string[]; returns: string }>,
      ): { symbols: Record<string, WaitFn> };
    };
    wait = ffi.dlopen(path, {
      rm_events_wait: { args: ["f64", "u32"], returns: "f64" },
    }).symbols.rm_events_wait;
  }
  scope.postMessage(wait(last, timeoutMs));
};
