import { rm, rmdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import Docker from "dockerode";
import { LABEL_DATA_DIR } from "../sandbox/docker-backend.js";
import { removeSandboxDir } from "../sandbox/workspace-disk.js";

/**
 * Deletes a test server's data directory and what the server kept for it outside: its
 * docker sandboxes (a closing server leaves containers running, to be re-attached by the
 * next start on this directory, which will never come) and their workspaces.
 */
export async function removeDataDir(dataDir: string): Promise<void> {
  const docker = new Docker();
  const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_DATA_DIR}=${resolve(dataDir)}`] }) }).catch(() => []);
  for (const c of containers) {
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    for (const m of c.Mounts ?? []) {
      if (!m.Source?.endsWith("/workspace")) continue;
      await removeSandboxDir(dirname(m.Source)); // its workspace disk unmounted first
      await rmdir(dirname(dirname(m.Source))).catch(() => undefined); // the server's workspace root, once empty
    }
  }
  await rm(dataDir, { recursive: true, force: true });
}
