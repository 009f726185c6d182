import { chown, mkdir, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ResolvedResources } from "./resources.js";

/** Hands the workspace to the user the sandbox runs as (host uid), when the server may. */
export async function chownTree(dir: string, uid: number | undefined): Promise<void> {
  if (uid === undefined || process.getuid?.() !== 0) return;
  await chown(dir, uid, uid);
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) await chown(join(e.parentPath, e.name), uid, uid);
}

export async function writeFiles(workspaceDir: string, r: ResolvedResources): Promise<void> {
  for (const f of r.files) {
    const full = join(workspaceDir, f.path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, f.content, { mode: f.mode });
  }
}
