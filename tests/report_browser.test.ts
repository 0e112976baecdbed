/**
 * The timeline report in a real browser: `remotemedia run <voice front end> --input speech.wav --report
 * <file>` writes the page; headless Chromium (Debian's `chromium`, driven by puppeteer-core as in
 * tests/web_client.test.ts) opens it from a file URL with the network disabled (every request other
 * than the page itself is failed and counted), and the test checks that there are no console errors
 * or page errors, that the waveform, the speech bands and one lane per node are drawn (present, with
 * non-empty bounding boxes, painted pixels), and that the statistics table and manifest are there. A
 * screenshot is written to a temporary folder and its path printed, for a person to look at.
 *
 * Skipped, with a message, where Chromium is not installed (`REMOTEMEDIA_CHROMIUM` names another
 * executable).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import puppeteer from "puppeteer-core";
import { runCli } from "../cli/main.ts";
import type { CliIo } from "../cli/common.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const speechWav = join(root, "examples/data/speech.wav");
const chromiumPath = process.env.REMOTEMEDIA_CHROMIUM ?? "/usr/bin/chromium";
const chromiumMissing = !existsSync(chromiumPath);
if (chromiumMissing) {
  console.warn(
    `skipping the report browser test: no Chromium at ${chromiumPath} ` +
      "(apt-get install chromium, or set REMOTEMEDIA_CHROMIUM)",
  );
}

const frontEnd = {
  version: 1,
  name: "voice-front-end",
  nodes: [
    { id: "mono", type: "ChannelMix", params: { mode: "mono" } },
    { id: "resample", type: "Resample", params: { targetRate: 16000 } },
    { id: "vad", type: "Vad", params: { mode: "events" } },
  ],
  connections: [{ from: "mono", to: "resample" }, { from: "resample", to: "vad" }],
};

function capture(): CliIo & { stderr: string } {
  const io = {
    stderr: "",
    isTty: false,
    out(_line: string): void {},
    err(text: string): void {
      io.stderr += text;
    },
  };
  return io;
}

interface Drawn {
  kind: string;
  node?: string;
  width: number;
  height: number;
  drawn: number;
  painted: number;
}

test("the report opens offline in Chromium and draws the waveform, bands and lanes", {
  skip: chromiumMissing,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "rm-report-"));
  const manifestPath = join(dir, "front.json");
  writeFileSync(manifestPath, JSON.stringify(frontEnd));
  const reportPath = join(dir, "report.html");
  const io = capture();
  const code = await runCli(
    ["run", manifestPath, "--input", speechWav, "--report", reportPath, "--no-stats"],
    io,
  );
  assert.equal(code, 0, io.stderr);
  assert.match(io.stderr, /report: .*report\.html/);
  assert.match(readFileSync(reportPath, "utf8"), /^<!doctype html>/);

  const browser = await puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox"], // Chromium refuses to run as root (CI) with its sandbox; the page is ours
  });
  const problems: string[] = [];
  const requests: string[] = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    await page.setOfflineMode(true);
    await page.setRequestInterception(true);
    const url = `file://${reportPath}`;
    page.on("request", (request) => {
      if (request.url() === url) request.continue();
      else {
        requests.push(request.url());
        request.abort();
      }
    });
    page.on("pageerror", (error) => problems.push(`pageerror: ${error}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    await page.goto(url, { waitUntil: "load" });
    await page.waitForFunction(() => document.body.dataset.rendered === "1", { timeout: 10_000 });
    const drawn: Drawn[] = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>("[data-kind]")].map((el) => {
        const box = el.getBoundingClientRect();
        let painted = 0;
        if (el instanceof HTMLCanvasElement) {
          const pixels = el.getContext("2d")!.getImageData(0, 0, el.width, el.height).data;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
        } else painted = el.querySelectorAll("rect, path").length;
        return {
          kind: el.dataset.kind!,
          node: el.dataset.node,
          width: box.width,
          height: box.height,
          drawn: Number(el.dataset.drawn),
          painted,
        };
      })
    );
    const tables = await page.evaluate(() => ({
      rows: document.querySelectorAll("#stats tbody tr").length,
      manifest: document.getElementById("manifest")!.textContent,
    }));
    const shot = join(dir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`report screenshot: ${shot}`);

    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [], "the page loads nothing");
    const waveform = drawn.filter((d) => d.kind === "waveform");
    assert.equal(waveform.length, 1, "the input waveform (the front end returns no audio)");
    const lanes = drawn.filter((d) => d.kind === "lane");
    assert.deepEqual(lanes.map((d) => d.node), ["mono", "resample", "vad"]);
    const events = drawn.filter((d) => d.kind === "events");
    assert.equal(events.length, 1);
    // speech.wav: three speech segments, each a band and a speech_start marker.
    assert.ok(events[0].painted >= 6, `${events[0].painted} bands and markers`);
    for (const d of [...waveform, ...lanes, ...events]) {
      assert.ok(
        d.width > 100 && d.height > 10,
        `${d.kind} ${d.node ?? ""}: ${d.width}x${d.height}`,
      );
      assert.ok(d.drawn > 0 && d.painted > 0, `${d.kind} ${d.node ?? ""} is drawn`);
    }
    assert.equal(tables.rows, 3);
    assert.match(tables.manifest ?? "", /"ChannelMix"/);
  } finally {
    await browser.close();
  }
});
