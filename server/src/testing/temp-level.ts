import { ClassicLevel } from "classic-level";
import type { Db } from "../part.js";
import { tempDir } from "./temp-dir.js";

/** An open LevelDB in a fresh temp directory, as the server opens its own; `remove()` closes it and deletes the directory. */
export async function tempLevel(prefix = "oma-level-"): Promise<{ db: Db; remove(): Promise<void> }> {
  const dir = await tempDir(prefix);
  const db: Db = new ClassicLevel<string, Uint8Array>(dir.path, { valueEncoding: "view" });
  await db.open();
  return {
    db,
    async remove() {
      await db.close();
      await dir.remove();
    },
  };
}
