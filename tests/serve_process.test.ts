/**
 * `remotemedia serve` as a process: SIGTERM and SIGINT drain the open sessions (their outputs are
 * sent, then close 1001) and the process exits 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { CloseCode } from "../mod.ts";
import { startServerProcess, WsClient } from "./serve_client.ts";

function manifestFile(): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "rm-serve-"));
  const path = join(dir, "gain.json");
  writeFileSync(
    path,
    JSON.stringify({ version: 1, nodes: [{ id: "gain", type: "Gain", params: { gain: 0.5 } }] }),
  );
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} drains the open sessions, closes them with 1001, and the server exits 0`, async () => {
    const manifest = manifestFile();
    try {
      const server = await startServerProcess(manifest.path);
      const url = `ws://127.0.0.1:${server.port}/`;
      const clients = await Promise.all([WsClient.open(url), WsClient.open(url)]);
      for (const client of clients) {
        client.sendJson({ type: "start", sampleRate: 16000, format: "f32" });
        for (let i = 0; i < 10; i++) client.ws.send(new Float32Array(320).fill(0.5));
      }
      for (const client of clients) {
        while (client.frames.length < 10) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      process.kill(server.child.pid!, signal); // not child.kill(): Deno then reports the signal, not the exit code
      for (const client of clients) {
        const end = await client.waitFor((m) => m.type === "end");
        assert.deepEqual(end, {
          type: "end",
          reason: "shutdown",
          stats: { framesIn: 10, framesOut: 10, dropped: 0 },
        });
        assert.equal((await client.closed).code, CloseCode.shutdown);
      }
      assert.equal(await server.exited, 0, server.stderr());
      assert.match(server.stderr(), new RegExp(`${signal}: draining`));
      assert.match(server.stderr(), /draining 2 session\(s\)/);
    } finally {
      manifest.remove();
    }
  });
}
