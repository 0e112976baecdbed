/**
 * The browser client (examples/web) in a real browser: `remotemedia serve examples/web/pipeline.json
 * --static examples/web` in a subprocess (of the runtime running the tests), headless Chromium
 * (Debian's `chromium`, driven by puppeteer-core; no browser is downloaded) whose
 * fake microphone plays examples/data/speech.wav, and the page's Start button. The page captures
 * with getUserMedia and an AudioWorklet, streams 20 ms frames over the WebSocket, shows the speech
 * segments and turns the server reports, and plays the audio it sends back. The test compares the
 * segments the page shows with those a local session of the same manifest finds in the same file.
 *
 * puppeteer-core runs in both runtimes, in the test process, with the permissions `make test` gives
 * Deno, so the browser test runs under `deno test` and `bun test` alike. (playwright-core, tried
 * first, runs in both too but not under those permissions: at import it reads `os.homedir()`,
 * `os.release()` and checks `/proc/sys/fs/binfmt_misc/WSLInterop`, which Deno grants only with
 * `--allow-sys` and `--allow-all`.)
 * Skipped, with a message, where Chromium is not installed (`.ci/run` installs Debian's package;
 * `REMOTEMEDIA_CHROMIUM` names another executable).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import puppeteer from "puppeteer-core";
import { ArgumentError, type Manifest, serve, staticRoutes, validateManifest } from "../mod.ts";
import { runCli } from "../cli/main.ts";
import {
  localJsonOutputs,
  root,
  speechFrames,
  speechWav,
  startServerProcess,
  WsClient,
} from "./serve_client.ts";

const webDir = join(root, "examples/web");
const manifestPath = join(webDir, "pipeline.json");
const chromiumPath = process.env.REMOTEMEDIA_CHROMIUM ?? "/usr/bin/chromium";
const chromiumMissing = !existsSync(chromiumPath);
if (chromiumMissing) {
  console.warn(
    `skipping the browser client test: no Chromium at ${chromiumPath} ` +
      "(apt-get install chromium, or set REMOTEMEDIA_CHROMIUM)",
  );
}

/**
 * How far a segment boundary the page shows may be from the local run's: 100 ms, three of Silero's
 * 32 ms windows. The browser's audio is the file's, but not its samples: Chromium's fake device
 * reads the WAV in real time and the page gets it through the AudioContext (resampled when the
 * context's rate is not the file's, mixed to mono by the worklet rather than by `ChannelMix`), and
 * audio time 0 is the first sample the worklet saw, not the file's first. Silero decides per 32 ms
 * window, so a window that straddles a speech edge can fall either side. Measured over 18 runs (9
 * per runtime): every boundary equal to the local one or one window (32 ms) later, never earlier,
 * never more (as if the page's audio started a little before the file's first sample).
 */
const TOLERANCE_US = 100_000;

interface Segment {
  startUs: number;
  endUs: number;
}

/** Duration of a PCM WAV; also checks it is what Chromium's fake capture reads (16-bit PCM). */
function wavInfo(path: string): { seconds: number; rate: number; channels: number } {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (at: number): string => new TextDecoder().decode(bytes.subarray(at, at + 4));
  assert.equal(text(0), "RIFF");
  let at = 12;
  let format: { tag: number; channels: number; rate: number; bits: number } | undefined;
  while (at + 8 <= bytes.length) {
    const size = view.getUint32(at + 4, true);
    if (text(at) === "fmt ") {
      format = {
        tag: view.getUint16(at + 8, true),
        channels: view.getUint16(at + 10, true),
        rate: view.getUint32(at + 12, true),
        bits: view.getUint16(at + 22, true),
      };
    } else if (text(at) === "data") {
      assert.ok(format, "fmt before data");
      assert.deepEqual(
        [format.tag, format.bits],
        [1, 16],
        "Chromium's --use-file-for-fake-audio-capture wants 16-bit PCM",
      );
      return {
        seconds: size / (format.channels * 2) / format.rate,
        rate: format.rate,
        channels: format.channels,
      };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

test("staticRoutes: a directory's files next to the WebSocket endpoints", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rm-static-"));
  try {
    writeFileSync(join(dir, "index.html"), "<p>hi</p>");
    writeFileSync(join(dir, "app.js"), "export {};");
    writeFileSync(join(dir, ".secret"), "no");
    const routes = staticRoutes(dir);
    assert.deepEqual(Object.keys(routes).sort(), ["/", "/app.js", "/index.html"]);
    await using server = await serve({
      manifest: { version: 1, nodes: [{ id: "vad", type: "Vad", params: { mode: "events" } }] },
      port: 0,
      routes,
    });
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await page.text(), "<p>hi</p>");
    const script = await fetch(`${server.url}/app.js`);
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await script.text(), "export {};");
    writeFileSync(join(dir, "app.js"), "export const edited = 1;"); // read per request
    assert.equal(await (await fetch(`${server.url}/app.js`)).text(), "export const edited = 1;");
    const head = await fetch(`${server.url}/app.js`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const post = await fetch(`${server.url}/`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    for (const path of ["/.secret", "/missing.js", "/%2e%2e/package.json"]) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 404, path);
      await response.body?.cancel();
    }
    // `/` is the page for a browser and still the native protocol for a WebSocket.
    const client = await WsClient.open(`${server.url.replace("http", "ws")}/`);
    client.sendJson({ type: "start", sampleRate: 16000 });
    await client.waitFor((m) => m.type === "ready");
    client.sendJson({ type: "close" });
    await client.waitFor((m) => m.type === "end");
    assert.equal((await client.closed).code, 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => staticRoutes(join(dir, "gone")), ArgumentError);
  assert.throws(() => staticRoutes(manifestPath), /is not a directory/);
});

test("remotemedia serve --static: a directory that cannot be read exits 4 before listening", async () => {
  const err: string[] = [];
  const code = await runCli(
    ["serve", manifestPath, "--port", "0", "--static", join(webDir, "missing")],
    { out: () => assert.fail("nothing listens"), err: (text) => err.push(text), isTty: false },
  );
  assert.equal(code, 4); // not 3: the page's manifest itself is valid
  assert.match(err.join(""), /cannot read .*missing/);
  assert.deepEqual(validateManifest(readFileSync(manifestPath, "utf8")), []);
});

test(
  "the browser client streams a (fake) microphone in headless Chromium and shows the speech " +
    "segments a local session finds",
  { skip: chromiumMissing ? `no Chromium at ${chromiumPath}` : false },
  async () => {
    const wav = wavInfo(speechWav);
    // The reference: the same manifest, in this process, on the file's 20 ms frames.
    const frames = await speechFrames();
    const reference = (await localJsonOutputs(
      JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest,
      frames,
      wav.rate,
      wav.channels,
    )) as { type: string; startUs: number; endUs: number }[];
    const expected: Segment[] = reference.filter((e) => e.type === "speech_end")
      .map(({ startUs, endUs }) => ({ startUs, endUs }));
    const expectedTurns = reference.filter((e) => e.type === "turn_end").length;
    assert.ok(expected.length >= 2, "the recording has speech segments");

    // Chromium captures the fake microphone in real time: on a machine loaded by other work it can
    // drop a few milliseconds of audio, which splits a segment. A mismatch is therefore retried once
    // on a fresh server and browser; two in a row fail the test.
    try {
      await runOnce(expected, expectedTurns, wav.seconds);
    } catch (error) {
      if (!(error instanceof assert.AssertionError)) throw error;
      console.log(`browser client: the first run differed, retrying once: ${error.message}`);
      await runOnce(expected, expectedTurns, wav.seconds);
    }
  },
);

/** One run of the browser client against a fresh `remotemedia serve --static` process. */
async function runOnce(expected: Segment[], expectedTurns: number, seconds: number): Promise<void> {
  {
    const wav = { seconds };
    const server = await startServerProcess(manifestPath, ["--static", webDir]);
    const browser = await puppeteer.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        "--no-sandbox", // Chromium refuses to run as root (CI) with its sandbox; the page is ours
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        // Chromium loops the file unless the path ends in %noloop; then the microphone is silent.
        `--use-file-for-fake-audio-capture=${speechWav}%noloop`,
      ],
    });
    const pageErrors: string[] = [];
    try {
      const page = await browser.newPage();
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      // The test measures the transport, not Chromium's voice processing (echo cancellation, noise
      // suppression and gain control reshape the audio: with them on, a run here ended the first
      // segment 128 ms late and split the last sentence in two).
      await page.goto(`http://127.0.0.1:${server.port}/?processing=off`);
      await page.click("#start");
      await page.waitForFunction(
        () => document.getElementById("status")?.dataset.state === "live",
        { timeout: 30_000 },
      );
      // The whole file, then a second of the silence after it: the last segment's speech_end and
      // its turn_end (500 ms of silence) are decided by then.
      await page.waitForFunction(
        (seconds: number) =>
          Number(document.getElementById("sent")?.dataset.seconds ?? 0) >= seconds,
        { timeout: 60_000, polling: 100 },
        wav.seconds + 1,
      );
      await page.click("#stop");
      await page.waitForFunction(
        () => document.getElementById("status")?.dataset.state === "ended",
        { timeout: 30_000 },
      );
      const shown = await page.evaluate(() => ({
        status: document.getElementById("status")!.textContent,
        segments: [...document.querySelectorAll<HTMLTableRowElement>("#segments tr")].map(
          (tr) => ({
            startUs: Number(tr.dataset.startUs),
            endUs: Number(tr.dataset.endUs),
            text: [...tr.cells].map((c) => c.textContent),
          }),
        ),
        turns: document.querySelectorAll("#turns tr.done").length,
        sent: document.getElementById("sent")!.textContent,
      }));
      console.log(`browser client: ${shown.status}; sent ${shown.sent}`);
      const deltas = expected.map((e, i) => [
        (shown.segments[i]?.startUs - e.startUs) / 1000,
        (shown.segments[i]?.endUs - e.endUs) / 1000,
      ]);
      console.log(
        `browser client: segments ${
          JSON.stringify(shown.segments.map((s) => [s.startUs, s.endUs]))
        }, local ${JSON.stringify(expected.map((s) => [s.startUs, s.endUs]))}, ` +
          `differences (ms) ${JSON.stringify(deltas)}`,
      );
      assert.equal(shown.segments.length, expected.length, JSON.stringify(shown.segments));
      for (const [i, e] of expected.entries()) {
        const got = shown.segments[i];
        for (const edge of ["startUs", "endUs"] as const) {
          assert.ok(
            Math.abs(got[edge] - e[edge]) <= TOLERANCE_US,
            `segment ${i + 1} ${edge}: page ${got[edge]}, local ${e[edge]}`,
          );
        }
        // What the page shows: the number, start, end and duration in seconds.
        assert.deepEqual(got.text.slice(0, 4), [
          String(i + 1),
          (got.startUs / 1e6).toFixed(2),
          (got.endUs / 1e6).toFixed(2),
          ((got.endUs - got.startUs) / 1e6).toFixed(2),
        ]);
      }
      assert.equal(shown.turns, expectedTurns, "one turn per sentence pair, as locally");
      // Each segment comes back as audio (the `echo` sink) and plays to its end.
      await page.waitForFunction(
        (n: number) => {
          const replies = document.getElementById("replies")?.dataset;
          return Number(replies?.received) >= n && replies?.played === replies?.received;
        },
        { timeout: 30_000 },
        expected.length,
      );
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser.close();
      process.kill(server.child.pid!, "SIGTERM");
      assert.equal(await server.exited, 0, server.stderr());
    }
  }
}
