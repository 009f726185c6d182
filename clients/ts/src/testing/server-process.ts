import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";
import { createOmaClient } from "../node.js";
import { TokenRole } from "../gen/oma/v1/token_pb.js";

/** The repository root, from this file's place in clients/ts/src/testing (or dist/testing). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
/** The compiled server CLI; tests that run it need `tsc -b` first (npm test does it). */
export const serverMain = join(repoRoot, "server", "dist", "cli", "main.js");
export const haveServerBuild = existsSync(serverMain);

/** Longest wait for the server to print its readiness line. */
const startTimeoutMs = 30_000;

/**
 * The reference server as a real child process (`oma serve`) on a data directory of its
 * own, so a test can kill it with SIGKILL and start it again on the same port and data —
 * the way a server crashes and comes back.
 */
export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The admin token the server wrote to its data directory. */
  readonly adminToken: string;
  /** A client token of the tenant `sdk-tests`, created with the admin token: what the tests use. */
  readonly token: string;
  /** SIGKILL, then wait for the process to be gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data directory (after kill). */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM, a clean shutdown) and deletes its data. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /** Extra environment (e.g. ANTHROPIC_BASE_URL for the brain workers). */
  env?: NodeJS.ProcessEnv;
  /** Local brain workers `oma serve` starts (`--workers`). Default 0. */
  workers?: number;
}

export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "oma-client-e2e-"));
  const env = { ...process.env, OMA_SANDBOX_BACKEND: "process", ...options.env };
  const workers = options.workers ?? 0;
  let child: ChildProcess | undefined;
  let { port, url } = await launch(dataDir, 0, env, workers).then((r) => ((child = r.child), r));
  const adminToken = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
  const admin = createOmaClient({ baseUrl: url, token: adminToken });
  const { bearerToken: token } = await admin.tokens.createToken({ tenant: "sdk-tests", role: TokenRole.CLIENT, description: "client tests" });
  const end = async (signal: NodeJS.Signals) => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((resolve) => c.once("exit", resolve));
    c.kill(signal);
    // A clean shutdown is bounded too: past it, the process is killed.
    const force = setTimeout(() => c.kill("SIGKILL"), 15_000);
    await gone;
    clearTimeout(force);
  };
  const kill = () => end("SIGKILL");
  return {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    dataDir,
    adminToken,
    token,
    kill,
    async restart() {
      await kill();
      const r = await launch(dataDir, port, env, workers);
      child = r.child;
      ({ port, url } = r);
    },
    async stop() {
      // A clean shutdown: the server removes what its sandboxes left outside the data directory.
      await end("SIGTERM");
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function launch(dataDir: string, port: number, env: NodeJS.ProcessEnv, workers: number): Promise<{ child: ChildProcess; url: string; port: number }> {
  const args = [serverMain, "serve", "--port", String(port), "--data-dir", dataDir, "--workers", String(workers)];
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const lines = createInterface({ input: child.stdout! });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start within ${startTimeoutMs} ms: ${stderr}`)), startTimeoutMs);
      lines.on("line", (line) => {
        const m = /^OMA_LISTENING (\S+)/.exec(line);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code ?? signal}) before listening: ${stderr}`));
      });
    });
    return { child, url, port: Number(new URL(url).port) };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}
