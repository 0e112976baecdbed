/**
 * Size and speed of the timeline report (README: Timeline report): a 10-minute WAV made of
 * examples/data/speech.wav repeated, run through the voice front end (ChannelMix → Resample → Vad) by
 * `remotemedia run --input … --report …` in this process; then the page is opened from a file URL, with
 * the network off, in headless Chromium (Debian's `chromium`, or `REMOTEMEDIA_CHROMIUM`), five times.
 * Prints the file's size, the run's time with and without recording, and the time from navigation to
 * the drawn page (the page's own `performance.now()` when its script has drawn everything).
 *
 * Run: `deno run -A bench/timeline_report.ts [minutes]` or `bun run bench/timeline_report.ts [minutes]`.
 *
 * @module
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import puppeteer from "puppeteer-core";
import { runCli } from "../cli/main.ts";
import { args } from "../ffi/runtime.ts";

const minutes = Number(args()[0] ?? 10);
const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), "rm-report-bench-"));

/** speech.wav repeated to `minutes` (its data chunk concatenated; the header's sizes fixed). */
function longWav(path: string): void {
  const wav = readFileSync(join(root, "examples/data/speech.wav"));
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  let at = 12;
  let fmt: Uint8Array | undefined;
  let data: Uint8Array | undefined;
  let byteRate = 0;
  while (at + 8 <= wav.length) {
    const id = String.fromCharCode(...wav.subarray(at, at + 4));
    const size = view.getUint32(at + 4, true);
    if (id === "fmt ") {
      fmt = wav.subarray(at, at + 8 + size);
      byteRate = view.getUint32(at + 16, true);
    }
    if (id === "data") data = wav.subarray(at + 8, at + 8 + size);
    at += 8 + size + (size % 2);
  }
  if (!fmt || !data) throw new Error("speech.wav: no fmt or data chunk");
  const total = Math.floor(minutes * 60 * byteRate / 4) * 4;
  const out = new Uint8Array(12 + fmt.length + 8 + total);
  const o = new DataView(out.buffer);
  out.set(new TextEncoder().encode("RIFF"), 0);
  o.setUint32(4, out.length - 8, true);
  out.set(new TextEncoder().encode("WAVE"), 8);
  out.set(fmt, 12);
  const dataAt = 12 + fmt.length;
  out.set(new TextEncoder().encode("data"), dataAt);
  o.setUint32(dataAt + 4, total, true);
  for (let i = 0; i < total; i += data.length) {
    out.set(data.subarray(0, Math.min(data.length, total - i)), dataAt + 8 + i);
  }
  writeFileSync(path, out);
}

const wavPath = join(dir, "long.wav");
longWav(wavPath);
const manifestPath = join(dir, "front.json");
writeFileSync(
  manifestPath,
  JSON.stringify({
    version: 1,
    name: "voice-front-end",
    nodes: [
      { id: "mono", type: "ChannelMix", params: { mode: "mono" } },
      { id: "resample", type: "Resample", params: { targetRate: 16000 } },
      { id: "vad", type: "Vad", params: { mode: "events" } },
    ],
    connections: [{ from: "mono", to: "resample" }, { from: "resample", to: "vad" }],
  }),
);
const quiet = { isTty: false, out(): void {}, err(): void {} };
const reportPath = join(dir, "report.html");

async function timed(extra: string[]): Promise<number> {
  const started = performance.now();
  const code = await runCli(
    ["run", manifestPath, "--input", wavPath, "--no-stats", ...extra],
    quiet,
  );
  if (code !== 0) throw new Error(`run exited with ${code}`);
  return performance.now() - started;
}

const plainMs: number[] = [];
const recordMs: number[] = [];
for (let i = 0; i < 3; i++) {
  plainMs.push(await timed([]));
  recordMs.push(await timed(["--report", reportPath]));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bytes = statSync(reportPath).size;
console.log(`${minutes} min of speech.wav through the voice front end (${wavPath})`);
console.log(`report: ${reportPath}, ${(bytes / 1024).toFixed(0)} KiB (${bytes} bytes)`);
console.log(
  `run: ${median(plainMs).toFixed(0)} ms without recording, ${
    median(recordMs).toFixed(0)
  } ms with --report (median of 3)`,
);

const browser = await puppeteer.launch({
  executablePath: process.env.REMOTEMEDIA_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox"],
});
try {
  const renders: number[] = [];
  for (let i = 0; i < 5; i++) {
    const page = await browser.newPage();
    await page.setViewport({ width: 1600, height: 1000 });
    await page.setOfflineMode(true);
    await page.goto(`file://${reportPath}`, { waitUntil: "load" });
    await page.waitForFunction(() => document.body.dataset.rendered === "1");
    renders.push(await page.evaluate(() => Number(document.body.dataset.renderedAtMs)));
    if (i === 0) await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
    await page.close();
  }
  console.log(
    `render (navigation → drawn, headless Chromium): median ${median(renders).toFixed(0)} ms, max ${
      Math.max(...renders).toFixed(0)
    } ms; screenshot ${join(dir, "report.png")}`,
  );
} finally {
  await browser.close();
}
