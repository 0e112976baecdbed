"use strict";
/**
 * @remotemedia/lib: where the prebuilt remotemedia library of this machine is.
 *
 * Each platform's library is its own package (`@remotemedia/lib-<platform>`), listed here as an
 * optional dependency with `os`/`cpu`/`libc` fields, so npm, Bun and Deno install only the one that
 * fits (the pattern of esbuild and napi-rs). Both the npm package `remotemedia` and the JSR package
 * `@remotemedia/remotemedia` ask this package, so the choice is made in one place.
 *
 * CommonJS on purpose: `require()` is synchronous in Deno's and Bun's npm support, and its literal
 * calls below let `bun build --compile` embed the installed platform package's library.
 */

/** Platform key (`process.platform-process.arch[-libc]`) → Rust target triple it is built for. */
const TRIPLES = {
  "linux-x64-gnu": "x86_64-unknown-linux-gnu",
  "linux-arm64-gnu": "aarch64-unknown-linux-gnu",
  "darwin-x64": "x86_64-apple-darwin",
  "darwin-arm64": "aarch64-apple-darwin",
  "win32-x64-msvc": "x86_64-pc-windows-msvc",
};

/** Name of the package holding the library for `key`. */
function packageName(key) {
  return `@remotemedia/lib-${key}`;
}

/**
 * Finds the library of the platform package for `key`: `{ package, path }` when it is installed,
 * `{ package, error }` when it is not (or failed to load), `undefined` when no package exists for
 * that platform.
 */
function resolveLibrary(key) {
  if (!Object.hasOwn(TRIPLES, key)) return undefined;
  const name = packageName(key);
  let exported;
  try {
    // One literal require per package, inside `try`: a bundler (`bun build --compile`) embeds the
    // installed package and leaves the others to fail here at run time.
    switch (key) {
      case "linux-x64-gnu":
        exported = require("@remotemedia/lib-linux-x64-gnu");
        break;
      case "linux-arm64-gnu":
        exported = require("@remotemedia/lib-linux-arm64-gnu");
        break;
      case "darwin-x64":
        exported = require("@remotemedia/lib-darwin-x64");
        break;
      case "darwin-arm64":
        exported = require("@remotemedia/lib-darwin-arm64");
        break;
      case "win32-x64-msvc":
        exported = require("@remotemedia/lib-win32-x64-msvc");
        break;
    }
  } catch (error) {
    // First line only: Node-style errors append a multi-line require stack.
    const message = error instanceof Error ? error.message : String(error);
    return { package: name, error: message.split("\n")[0] };
  }
  // The platform package exports its library's path (CommonJS), or a module whose default export
  // is that path (its `bun` condition, which lets Bun embed the file).
  const path = typeof exported === "string" ? exported : exported && exported.default;
  if (typeof path !== "string") return { package: name, error: `${name} exports no path` };
  return { package: name, path };
}

module.exports = { TRIPLES, packageName, resolveLibrary };
