/**
 * A basic node: upper-cases text. Tested on its own with `runNode`, then used in a pipeline
 * between native nodes (trim → upper-case → sentence collector).
 *
 * Run: `deno run --allow-ffi --allow-read --allow-env examples/basic_node.ts` or
 * `bun run examples/basic_node.ts`.
 *
 * @module
 */
import { type Node, PipelineBuilder, run, runNode, RuntimeData } from "../mod.ts";

/** Upper-cases text; anything else is an error that names the type it got. */
export class UppercaseNode implements Node {
  /** Calls seen, to show the lifecycle. */
  calls = 0;

  /** Returns the upper-cased text. */
  process(data: RuntimeData): RuntimeData {
    this.calls++;
    return RuntimeData.text(data.asText().toUpperCase(), data.attributes());
  }
}

/** The node on its own: no pipeline, no native graph. */
export async function standalone(): Promise<string[]> {
  const outputs = await runNode(new UppercaseNode(), [
    RuntimeData.text("hello"),
    RuntimeData.text("world"),
  ]);
  return outputs.map((o) => {
    const text = o.asText();
    o.dispose();
    return text;
  });
}

/** The node between native nodes. */
export async function inPipeline(tokens: string[]): Promise<string[]> {
  const manifest = new PipelineBuilder()
    .node("upper", new UppercaseNode())
    .node("sentences", "TextCollector")
    .chain("upper", "sentences")
    .build();
  const inputs = tokens.map((t) => RuntimeData.text(t));
  const outputs = await run(manifest, inputs);
  inputs.forEach((i) => i.dispose());
  return outputs.map((o) => {
    const text = o.asText();
    o.dispose();
    return text;
  });
}

if (import.meta.main) {
  console.log("standalone:", await standalone());
  console.log("pipeline:  ", await inPipeline(["hel", "lo there. how ", "are you? fine"]));
}
