import { readFile } from "node:fs/promises";

/**
 * Reads an expected-failures file: one case id (or pattern, as for --run) per line;
 * `#` starts a comment. A case listed here that fails does not fail the run; one that
 * passes does, so the list shrinks as the implementation improves.
 */
export async function readExpectedFailures(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "");
}
