/**
 * Builds what users install, into `dist/` (`make dist`):
 *
 * - `dist/npm/lib-<platform>/` — the platform package `@remotemedia/lib-<platform>` (`os`/`cpu`/`libc`
 *   fields) holding the **stripped** library of this machine's `target/release` build;
 * - `dist/npm/lib/` — `@remotemedia/lib` (`npm/lib/`), which lists every platform package found in
 *   `dist/npm/` as an optional dependency and tells the loader where the installed one is;
 * - `dist/npm/remotemedia/` — the npm package `remotemedia`: JavaScript and `.d.ts` emitted by
 *   `tsc` from the same sources as the JSR package (Deno refuses TypeScript inside npm packages), with
 *   the SHA-256 of each library file of `dist/release/` pinned in `ffi/prebuilt.js`;
 * - `dist/npm/*.tgz` — the three packed (`npm pack`);
 * - `dist/release/` — the library files for the download fallback, and `SHA256SUMS`.
 *
 * Usage: `deno run -A tools/dist.ts [all | platform | packages | pin] [--base-url URL] [--lib PATH]`.
 * `platform` packs this machine's library, `packages` the two packages above from whatever platform
 * packages `dist/npm/` holds (the release workflow gathers them from every runner first), `pin`
 * writes the pins into the repository's `ffi/prebuilt.ts` for `deno publish`; `all` = `platform` +
 * `packages`. `--base-url` (or `REMOTEMEDIA_RELEASE_URL`) is where the release files will be
 * downloaded from; without it the packages pin checksums but name no URL.
 *
 * @module
 */
import { cpSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { PrebuiltFile } from "../ffi/prebuilt.ts";
import {
  LIBRARY_VERSION,
  libraryFileName,
  platformKey,
  prebuiltFileName,
  targetTriple,
} from "../ffi/platform.ts";

const root = fileURLToPath(new URL("..", import.meta.url)).replace(/[\\/]$/, "");
const windows = Deno.build.os === "windows";
const dist = `${root}/dist`;
const npmDir = `${dist}/npm`;
const releaseDir = `${dist}/release`;

/** The platform of a package: `linux-x64-gnu` → Node's os, cpu and libc names. */
interface Platform {
  key: string;
  os: string;
  cpu: string;
  libc?: string;
}

function parseKey(key: string): Platform {
  const [os, cpu, abi] = key.split("-");
  return { key, os, cpu, libc: os === "linux" ? (abi === "musl" ? "musl" : "glibc") : undefined };
}

/** The platform's file among the release files: the name the loader's cache uses. */
function releaseFileName(platform: Platform, version: string): string {
  const musl = platform.libc === "musl" ? "musl" : undefined;
  return prebuiltFileName(platform.os, platform.cpu, version, musl);
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(path));
}

function writeJson(path: string, value: unknown): void {
  Deno.writeTextFileSync(path, JSON.stringify(value, null, 2) + "\n");
}

function run(command: string, args: string[], cwd = root): string {
  const result = new Deno.Command(command, { args, cwd, stderr: "inherit" }).outputSync();
  if (!result.success) throw new Error(`${command} ${args.join(" ")} failed (${result.code})`);
  return new TextDecoder().decode(result.stdout);
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", Deno.readFileSync(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One version everywhere, or stop: the packages pin each other by exact version. */
function checkVersions(): string {
  const version = readJson(`${root}/package.json`).version as string;
  const problems: string[] = [];
  const deno = readJson(`${root}/deno.json`);
  if (deno.version !== version) problems.push(`deno.json version ${deno.version}`);
  const selector = readJson(`${root}/npm/lib/package.json`).version;
  if (selector !== version) problems.push(`npm/lib/package.json version ${selector}`);
  if (LIBRARY_VERSION !== version) problems.push(`LIBRARY_VERSION ${LIBRARY_VERSION}`);
  const imported = (deno.imports as Record<string, string>)["@remotemedia/lib"];
  if (imported !== `npm:@remotemedia/lib@${version}`) {
    problems.push(`deno.json imports["@remotemedia/lib"] ${imported}`);
  }
  if (problems.length) {
    throw new Error(`package.json says ${version}, but: ${problems.join(", ")}`);
  }
  return version;
}

function remove(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function copyFile(from: string, to: string): void {
  Deno.mkdirSync(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  Deno.copyFileSync(from, to);
}

function pack(dir: string): string {
  const out = run(windows ? "npm.cmd" : "npm", [
    "pack",
    dir,
    "--pack-destination",
    npmDir,
    "--silent",
  ]);
  return out.trim().split("\n").at(-1)!;
}

/** Removes symbols and debug info (the repository's own builds keep theirs). */
function strip(from: string, to: string, os: string): void {
  const tool = Deno.env.get("STRIP") ?? "strip";
  if (os === "linux") run(tool, ["--strip-unneeded", "-o", to, from]);
  else if (os === "darwin") run(tool, ["-x", "-o", to, from]);
  else Deno.copyFileSync(from, to); // MSVC keeps debug info in a separate .pdb, not in the DLL
}

/** The platform package of this machine (or of `--lib` built for `--key`). */
function buildPlatform(version: string, libPath: string | undefined, keyArg?: string): string {
  const key = keyArg ?? platformKey(Deno.build.os, Deno.build.arch, Deno.build.env ?? "gnu");
  const platform = parseKey(key);
  const file = libraryFileName(platform.os);
  const source = libPath ?? `${root}/target/release/${file}`;
  const dir = `${npmDir}/lib-${key}`;
  remove(dir);
  Deno.mkdirSync(dir, { recursive: true });
  strip(source, `${dir}/${file}`, platform.os);
  const triple = targetTriple(platform.os, platform.cpu, platform.libc === "musl" ? "musl" : "gnu");
  writeJson(`${dir}/package.json`, {
    name: `@remotemedia/lib-${key}`,
    version,
    description: `The remotemedia native library for ${key} (${triple})`,
    license: "MIT",
    os: [platform.os],
    cpu: [platform.cpu],
    ...(platform.libc ? { libc: [platform.libc] } : {}),
    main: "./index.js",
    exports: {
      ".": { bun: "./bun.mjs", default: "./index.js" },
      [`./${file}`]: `./${file}`,
      "./package.json": "./package.json",
    },
    files: ["index.js", "bun.mjs", file],
    preferUnplugged: true,
  });
  Deno.writeTextFileSync(
    `${dir}/index.js`,
    `"use strict";\n// The path of this package's library.\n` +
      `module.exports = require("node:path").join(__dirname, ${JSON.stringify(file)});\n`,
  );
  Deno.writeTextFileSync(
    `${dir}/bun.mjs`,
    `// Bun: the path of this package's library; \`bun build --compile\` embeds the file.\n` +
      `import path from "./${file}" with { type: "file" };\nexport default path;\n`,
  );
  Deno.writeTextFileSync(
    `${dir}/README.md`,
    `# @remotemedia/lib-${key}\n\nThe prebuilt, stripped remotemedia native library (\`${file}\`) ` +
      `for ${triple}.\nInstalled as an optional dependency of \`@remotemedia/lib\` by the \`remotemedia\` ` +
      `(npm) and \`@remotemedia/remotemedia\` (JSR) packages; do not depend on it directly.\n`,
  );
  copyFile(`${root}/LICENSE`, `${dir}/LICENSE`);
  Deno.mkdirSync(releaseDir, { recursive: true });
  copyFile(`${dir}/${file}`, `${releaseDir}/${releaseFileName(platform, version)}`);
  return pack(dir);
}

/** Every platform package in `dist/npm/` (this machine's, or all of a release's). */
function platformsInDist(): Platform[] {
  const found: Platform[] = [];
  for (const entry of Deno.readDirSync(npmDir)) {
    if (!entry.isDirectory || !entry.name.startsWith("lib-")) continue;
    found.push(parseKey(entry.name.slice("lib-".length)));
  }
  return found.sort((a, b) => a.key.localeCompare(b.key));
}

/** The pins: every platform's release file and its SHA-256. */
async function pins(version: string): Promise<Record<string, PrebuiltFile>> {
  const files: Record<string, PrebuiltFile> = {};
  for (const platform of platformsInDist()) {
    const file = releaseFileName(platform, version);
    files[platform.key] = { file, sha256: await sha256(`${releaseDir}/${file}`) };
  }
  return files;
}

function prebuiltModule(baseUrl: string, files: Record<string, PrebuiltFile>): string {
  const template = Deno.readTextFileSync(`${root}/ffi/prebuilt.ts`);
  const start = template.indexOf("/** Where the files are published");
  if (start < 0) throw new Error("ffi/prebuilt.ts: unexpected layout");
  const entries = Object.entries(files).map(([key, f]) =>
    `  ${JSON.stringify(key)}: {\n    file: ${JSON.stringify(f.file)},\n    sha256: ${
      JSON.stringify(f.sha256)
    },\n  },\n`
  ).join("");
  return template.slice(0, start) +
    "/** Where the files are published (a URL ending in `/`); empty when no release URL is known. */\n" +
    `export const PREBUILT_BASE_URL: string = ${JSON.stringify(baseUrl)};\n\n` +
    "/** Files by platform key (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, …). */\n" +
    "export const PREBUILT_FILES: Readonly<Record<string, PrebuiltFile>> = {" +
    (entries ? `\n${entries}` : "") + "};\n";
}

/** `.d.ts` files keep `./x.ts` specifiers (tsc rewrites only the JavaScript): point them at `.js`. */
function rewriteDeclarations(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) rewriteDeclarations(path);
    else if (entry.name.endsWith(".d.ts")) {
      const text = Deno.readTextFileSync(path);
      Deno.writeTextFileSync(
        path,
        text.replace(/((?:from |import\()\s*["'])(\.\.?\/[^"']+)\.ts(["'])/g, "$1$2.js$3"),
      );
    }
  }
}

/** Relative `.ts` specifiers left in emitted code would not load: fail loudly. */
function checkEmit(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) checkEmit(path);
    else if (/\.(js|d\.ts)$/.test(entry.name)) {
      const code = Deno.readTextFileSync(path).split("\n").filter((l) => !/^\s*(\*|\/\/)/.test(l));
      const bad = code.find((l) => /(from |import\()\s*["']\.\.?\/[^"']+\.ts["']/.test(l));
      if (bad) throw new Error(`${path}: emitted code still imports a .ts file: ${bad.trim()}`);
    }
  }
}

/** `remotemedia`: the JavaScript + `.d.ts` emitted from the JSR sources. */
async function buildMain(version: string, baseUrl: string): Promise<string> {
  const stage = `${dist}/stage`;
  const out = `${npmDir}/remotemedia`;
  for (const dir of [stage, out]) remove(dir);
  const deno = readJson(`${root}/deno.json`) as { publish: { include: string[] } };
  // Exactly what the JSR package publishes (its TypeScript sources), minus the docs and config.
  const sources = deno.publish.include.filter((p) => /\.ts$|\/$/.test(p));
  for (const path of sources) {
    const target = `${stage}/${path}`.replace(/\/$/, "");
    Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    cpSync(`${root}/${path}`.replace(/\/$/, ""), target, { recursive: true });
  }
  Deno.writeTextFileSync(`${stage}/ffi/prebuilt.ts`, prebuiltModule(baseUrl, await pins(version)));
  writeJson(`${stage}/tsconfig.json`, {
    compilerOptions: {
      target: "ES2022", // `using` becomes helper calls: runs on every Deno 2 and Bun 1
      module: "ESNext",
      moduleResolution: "bundler",
      rewriteRelativeImportExtensions: true,
      allowImportingTsExtensions: true,
      declaration: true,
      noCheck: true, // `deno check` type-checks these sources in `make lint`
      skipLibCheck: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      rootDir: ".",
      outDir: out,
      lib: ["ESNext", "DOM"],
      types: [],
    },
    files: sources.filter((p) => p.endsWith(".ts")),
  });
  run(windows ? "node.exe" : "node", [
    `${root}/node_modules/typescript/bin/tsc`,
    "-p",
    `${stage}/tsconfig.json`,
  ]);
  rewriteDeclarations(out);
  checkEmit(out);
  const pkg = readJson(`${root}/package.json`);
  const js = (path: string): string => path.replace(/\.ts$/, ".js");
  const exports: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(pkg.exports as Record<string, string>)) {
    exports[name] = { types: js(path).replace(/\.js$/, ".d.ts"), default: js(path) };
  }
  exports["./package.json"] = "./package.json";
  writeJson(`${out}/package.json`, {
    name: pkg.name,
    version,
    description: pkg.description,
    license: pkg.license,
    type: "module",
    exports,
    types: "./mod.d.ts",
    bin: Object.fromEntries(
      Object.entries(pkg.bin as Record<string, string>).map(([k, v]) => [k, js(v)]),
    ),
    dependencies: { "@remotemedia/lib": version },
  });
  copyFile(`${root}/README.md`, `${out}/README.md`);
  copyFile(`${root}/LICENSE`, `${out}/LICENSE`);
  Deno.removeSync(stage, { recursive: true });
  return pack(out);
}

/** `@remotemedia/lib`, listing the platform packages in `dist/npm/` as optional dependencies. */
function buildSelector(version: string): string {
  const dir = `${npmDir}/lib`;
  remove(dir);
  const pkg = readJson(`${root}/npm/lib/package.json`);
  const platforms = platformsInDist();
  if (platforms.length === 0) {
    throw new Error("no platform package in dist/npm: run `platform` first");
  }
  pkg.optionalDependencies = Object.fromEntries(
    platforms.map((p) => [`@remotemedia/lib-${p.key}`, version]),
  );
  Deno.mkdirSync(dir, { recursive: true });
  writeJson(`${dir}/package.json`, pkg);
  for (const file of pkg.files as string[]) copyFile(`${root}/npm/lib/${file}`, `${dir}/${file}`);
  Deno.writeTextFileSync(
    `${dir}/README.md`,
    "# @remotemedia/lib\n\nFinds the prebuilt remotemedia native library of this machine: each " +
      "platform's library is an optional dependency (`@remotemedia/lib-<platform>`), and the package " +
      "manager installs the one that fits. Used by `remotemedia` (npm) and " +
      "`@remotemedia/remotemedia` (JSR).\n",
  );
  copyFile(`${root}/LICENSE`, `${dir}/LICENSE`);
  return pack(dir);
}

async function writeSums(): Promise<void> {
  const lines: string[] = [];
  for (
    const entry of [...Deno.readDirSync(releaseDir)].sort((a, b) => a.name.localeCompare(b.name))
  ) {
    if (entry.name === "SHA256SUMS") continue;
    lines.push(`${await sha256(`${releaseDir}/${entry.name}`)}  ${entry.name}`);
  }
  Deno.writeTextFileSync(`${releaseDir}/SHA256SUMS`, lines.join("\n") + "\n");
}

function option(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const command = Deno.args.find((a, i) =>
    !a.startsWith("--") && !Deno.args[i - 1]?.startsWith("--")
  ) ??
    "all";
  const version = checkVersions();
  const baseUrl = option("--base-url") ?? Deno.env.get("REMOTEMEDIA_RELEASE_URL") ?? "";
  Deno.mkdirSync(npmDir, { recursive: true });
  const made: string[] = [];
  if (command === "platform" || command === "all") {
    made.push(buildPlatform(version, option("--lib"), option("--key")));
  }
  if (command === "packages" || command === "all") {
    await writeSums();
    made.push(buildSelector(version), await buildMain(version, baseUrl));
  }
  if (command === "pin") {
    const module = prebuiltModule(baseUrl, await pins(version));
    Deno.writeTextFileSync(`${root}/ffi/prebuilt.ts`, module);
    run(Deno.execPath(), ["fmt", `${root}/ffi/prebuilt.ts`]);
    console.log(`ffi/prebuilt.ts pins ${Object.keys(await pins(version)).join(", ")}`);
  }
  if (!["all", "platform", "packages", "pin"].includes(command)) {
    console.error(`unknown command ${command}: all | platform | packages | pin`);
    Deno.exit(2);
  }
  for (const tarball of made) {
    const size = Deno.statSync(`${npmDir}/${tarball}`).size;
    console.log(`dist/npm/${tarball}  ${(size / 1024).toFixed(0)} KiB`);
  }
}
