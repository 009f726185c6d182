import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { bearerAuth } from "@oma/client";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import type { JsonObject } from "@bufbuild/protobuf";

const mainJs = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "cli", "main.js");

/** Whether each backend can run here; tests of a missing one are skipped loudly. */
export interface BackendAvailability {
  readonly name: "docker" | "gvisor" | "bubblewrap" | "process";
  readonly available: boolean;
  readonly why: string;
}

function dockerImageReady(): boolean {
  const r = spawnSync("docker", ["image", "ls", "-q", "--filter", "label=dev.oma.sandbox-image"], { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 && r.stdout.trim() !== "";
}

function gvisorRuntimeReady(): boolean {
  const r = spawnSync("docker", ["info", "--format", "{{json .Runtimes}}"], { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 && r.stdout.includes('"runsc"');
}

export function backendsUnderTest(): BackendAvailability[] {
  const docker = dockerImageReady();
  const gvisor = docker && gvisorRuntimeReady();
  const bwrap = existsSync("/usr/bin/bwrap") && spawnSync("/usr/bin/bwrap", ["--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "/bin/true"]).status === 0;
  return [
    { name: "docker", available: docker, why: "the Docker engine or the sandbox image is missing (scripts/setup-system builds it)" },
    { name: "gvisor", available: gvisor, why: "the Docker engine has no runsc runtime (scripts/setup-system registers it) or no sandbox image" },
    { name: "bubblewrap", available: bwrap, why: "/usr/bin/bwrap is missing or cannot create namespaces" },
    { name: "process", available: existsSync("/usr/bin/python3"), why: "/usr/bin/python3 is missing" },
  ];
}

/** Prints the loud skip line for every backend that cannot be tested. */
export function announceSkips(what: string, backends: readonly BackendAvailability[]): void {
  for (const b of backends) if (!b.available) console.warn(`!!! SKIPPED ${what} on ${b.name} because ${b.why}`);
}

/** Runs a bash command through Execute and returns the response. */
export async function bash(client: Client<typeof SandboxService>, sandboxId: string, command: string, extra: JsonObject = {}) {
  return client.execute({ sandboxId, name: "bash", input: { command, ...extra } });
}

/**
 * `oma serve` from the compiled CLI as a child process, on port 0, with extra environment;
 * `sandboxes` is a client with the admin token it wrote to its data directory.
 */
export async function startServer(dataDir: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; sandboxes: Client<typeof SandboxService> }> {
  const child = spawn(process.execPath, [mainJs, "serve", "--port", "0", "--data-dir", dataDir], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, OMA_LOG_LEVEL: "warn", ...env } });
  let out = "";
  child.stdout!.setEncoding("utf8");
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start in 30 s")), 30_000);
    child.stdout!.on("data", (s: string) => {
      out += s;
      const m = /OMA_LISTENING (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", () => reject(new Error("server exited")));
  });
  const token = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
  return { child, url, sandboxes: createClient(SandboxService, createGrpcTransport({ baseUrl: url, interceptors: [bearerAuth(token)] })) };
}
