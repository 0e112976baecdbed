// A worker that computes the digest of one session, for tests/concurrency.test.ts.
import { digest, input } from "./concurrency_shared.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: { data: number }) => void) | null;
  postMessage(value: unknown): void;
};
scope.onmessage = async (e: { data: number }): Promise<void> => {
  scope.postMessage(await digest(input(e.data), "inline"));
};
