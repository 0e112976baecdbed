/**
 * Entry point of the standalone binary built with `bun build --compile` (`make binary`): the native
 * library is embedded in the executable and loaded from there, so the binary needs no file beside it.
 *
 * Bun-only (the `with { type: "file" }` import); Deno users compile `cli/main.ts` instead (README).
 *
 * @module
 */
// @ts-ignore: Bun embeds the file and gives its path inside the executable.
import embeddedLibrary from "../target/release/libremotemedia.so" with { type: "file" };
import { setLibraryPath } from "../ffi/load.ts";

setLibraryPath(embeddedLibrary as unknown as string);
const { processIo, runCli } = await import("./main.ts");
const { args, io, exit } = processIo();
exit(await runCli(args, io));
