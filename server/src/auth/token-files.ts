import { chmod, open, readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../logger.js";
import { bearerMatches, bearerTokenId } from "./bearer-token.js";
import { createToken } from "./token-service.js";
import type { TokenStore } from "./token-store.js";
import type { Role } from "./principal.js";

/** The admin token a server writes into its data directory on first start. */
export const ADMIN_TOKEN_FILE = "admin.token";
/** The pool worker token of the local workers `oma serve --workers N` starts. */
export const WORKER_TOKEN_FILE = "worker.token";

/**
 * Makes sure `<dataDir>/<file>` holds a valid token of this role and tenant: the one it
 * holds if the store knows it and it is not revoked, else a new one written with mode
 * 0600 (readable only by the server's user). Returns the token and whether it is new.
 */
export async function ensureTokenFile(
  store: TokenStore,
  dataDir: string,
  file: string,
  wanted: { tenant: string; role: Role; description: string },
  log: Logger,
): Promise<{ path: string; bearer: string; created: boolean }> {
  const path = join(dataDir, file);
  const existing = await readFile(path, "utf8").then((s) => s.trim(), () => undefined);
  if (existing !== undefined) {
    const id = bearerTokenId(existing);
    const record = id ? await store.get(id) : undefined;
    if (record && record.revokeMs === undefined && record.role === wanted.role && bearerMatches(existing, record.hash)) {
      const mode = (await stat(path)).mode & 0o777;
      if (mode & 0o077) {
        await chmod(path, 0o600);
        log.warn({ path, mode: mode.toString(8) }, "token file was readable by others; made it 0600");
      }
      return { path, bearer: existing, created: false };
    }
    log.warn({ path }, "token file holds no valid token of this server; writing a new one");
  }
  const { bearer } = await createToken(store, wanted);
  // Written under another name and renamed, so a reader never sees half a token.
  const partial = `${path}.${process.pid}.tmp`;
  const handle = await open(partial, "w", 0o600);
  try {
    await handle.writeFile(`${bearer}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, path);
  return { path, bearer, created: true };
}
