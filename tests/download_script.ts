/**
 * Runs `downloadLibrarySync(url, sha256, destination)` in a process of its own and prints `saved` or
 * the error: the download blocks its thread while a worker fetches, so the test's server must live in
 * another process (tests/loader.test.ts).
 */
import process from "node:process";
import { downloadLibrarySync } from "../ffi/download.ts";

const [url, sha256, destination] = process.argv.slice(2);
try {
  downloadLibrarySync(url, sha256, destination);
  console.log("saved");
} catch (error) {
  console.log(error instanceof Error ? error.message : String(error));
}
