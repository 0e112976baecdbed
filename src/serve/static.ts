/**
 * Static files beside the WebSocket endpoints of {@link serve}: `staticRoutes(dir)` makes a
 * `routes` table of a directory's files (`remotemedia serve --static examples/web` serves the
 * browser client this way). The files are listed once, when the routes are made — no path from a
 * request ever reaches the file system, so nothing outside the directory can be asked for — and
 * read at each request, so an edited page shows on reload.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { ArgumentError } from "../errors.ts";
import type { ServeOptions } from "./server.ts";

/** The `routes` of {@link ServeOptions}. */
type Routes = NonNullable<ServeOptions["routes"]>;
/** One of them. */
type Route = Routes[string];

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wav": "audio/wav",
  ".wasm": "application/wasm",
};

/**
 * Routes for the files under `dir` (recursively; names starting with a dot are left out): each at
 * its path (`/client.js`, `/sub/x.css`), and every `index.html` also at its directory (`/`,
 * `/sub/`). GET and HEAD only; a WebSocket upgrade falls through to the server's own endpoints, so
 * `/` can be both the page and the native protocol.
 *
 * @example
 * ```ts
 * import { serve, staticRoutes } from "./mod.ts";
 * const server = await serve({
 *   manifest: "examples/web/pipeline.json",
 *   port: 8080,
 *   routes: staticRoutes("examples/web"),
 * });
 * console.log(`open ${server.url}/`);
 * ```
 */
export function staticRoutes(dir: string): NonNullable<ServeOptions["routes"]> {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (error) {
    throw new ArgumentError(`static files: cannot read ${dir}: ${(error as Error).message}`);
  }
  if (!isDir) throw new ArgumentError(`static files: ${dir} is not a directory`);
  const routes: Routes = {};
  const walk = (folder: string, prefix: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const path = join(folder, entry.name);
      const url = `${prefix}${encodeURIComponent(entry.name)}`;
      if (entry.isDirectory()) walk(path, `${url}/`);
      else if (entry.isFile()) {
        routes[url] = fileRoute(path);
        if (entry.name === "index.html") routes[prefix] = routes[url];
      }
    }
  };
  walk(dir, "/");
  return routes;
}

function fileRoute(path: string): Route {
  const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
  return (request) => {
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") return undefined;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = new Uint8Array(readFileSync(path));
    } catch {
      return new Response("not found\n", { status: 404 }); // removed since the server started
    }
    return new Response(request.method === "HEAD" ? null : body, {
      headers: {
        "content-type": type,
        "content-length": String(body.byteLength),
        "cache-control": "no-cache",
      },
    });
  };
}
