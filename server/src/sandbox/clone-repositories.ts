import { OmaError } from "../errors/oma-error.js";
import type { WiredRepository } from "../gateway/wired-repository.js";
import { GATEWAY_URL } from "./gateway-wiring.js";
import type { ResolvedRepository } from "./repositories.js";
import type { RunnerConnection } from "./runner-connection.js";

/** How long one clone at provisioning may take. */
export const CLONE_TIMEOUT_MS = 10 * 60_000;
/** How much of git's output is kept to explain a failed clone. */
const KEPT_OUTPUT_BYTES = 16 * 1024;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Clones each repository inside the sandbox, as the sandbox's user, from its route on the
 * sandbox's gateway: the remote `origin` is that loopback URL, so `.git/config` holds no
 * credential and every later fetch and push goes through the gateway too. A clone that
 * fails is CLONE_FAILED naming the repository, with git's last line (which never holds
 * the credential: git never saw it).
 */
export async function cloneRepositories(runner: RunnerConnection, repositories: readonly ResolvedRepository[], routes: readonly WiredRepository[]): Promise<void> {
  for (const [i, repo] of repositories.entries()) {
    const route = routes[i]!.route;
    const branch = repo.branch ? `--branch ${quote(repo.branch)} ` : "";
    const command = `GIT_TERMINAL_PROMPT=0 exec git clone --quiet ${branch}-- ${quote(`${GATEWAY_URL}${route}`)} ${quote(repo.path)} 2>&1`;
    const output: Uint8Array[] = [];
    const outcome = await runner.runCommand(command, CLONE_TIMEOUT_MS, KEPT_OUTPUT_BYTES, (_stream, data) => output.push(data)).done;
    if (outcome.exitCode === 0 && !outcome.timedOut) continue;
    const lines = Buffer.concat(output).toString("utf8").trim().split("\n");
    const detail = outcome.timedOut ? `the clone ran past ${CLONE_TIMEOUT_MS / 1000} s` : (lines.at(-1) ?? `git exited with ${outcome.exitCode}`).slice(0, 500);
    throw new OmaError("CLONE_FAILED", `${repo.url} could not be cloned: ${detail}`, { field: `resources.repositories[${i}]`, url: repo.url, detail });
  }
}
