import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { SandboxService } from "@oma/client/gen/oma/v1/sandbox_service_pb.js";
import { describe, expect, inject, it } from "vitest";
import { natsUnavailable, TEST_VAULT_KEY } from "../testing/nats-cluster.js";
import { removeDataDir } from "../testing/remove-data-dir.js";
import { CLI_PATH, startServerProcess } from "../testing/server-process.js";
import { tempDir } from "../testing/temp-dir.js";

const run = promisify(execFile);
const serve = (args: string[]) =>
  run(process.execPath, [CLI_PATH, "serve", "--port", "0", "--workers", "0", ...args], { timeout: 15_000 }).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? "" }),
  );

const missing = existsSync(CLI_PATH) ? natsUnavailable() : `${CLI_PATH} is missing: run tsc -b first`;
if (missing) console.warn(`!!! SKIPPED the oma serve --advertise-url tests: ${missing}`);

describe.skipIf(missing !== undefined)("oma serve --advertise-url (SBX-17)", () => {
  it("a value that is not an http(s) URL, or one without --store, stops the start with a clear error", async () => {
    for (const bad of ["ftp://host:7070", "host:7070"]) {
      const refused = await serve(["--store", inject("natsUrl"), "--advertise-url", bad]);
      expect(refused.code, bad).toBe(1);
      expect(refused.stderr).toContain(`--advertise-url takes http://HOST:PORT or https://HOST:PORT, got "${bad}"`);
    }
    const alone = await serve(["--advertise-url", "http://10.0.0.7:7070"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--advertise-url");
    expect(alone.stderr).toContain("needs --store nats://");
  });

  it("is what the server records as the owner of the sandboxes it makes (trailing slash dropped)", async () => {
    const store = inject("natsUrl");
    const dir = await tempDir("oma-advertise-");
    const server = await startServerProcess(dir.path, { env: { OMA_VAULT_KEY: TEST_VAULT_KEY }, args: ["--workers", "0", "--sandbox-backend", "process", "--store", store, "--advertise-url", "https://oma-a.internal.example:7443/"] });
    const nc = await connect({ servers: store.split(",") });
    try {
      const { sandbox } = await server.client(SandboxService).provision({ resources: {} });
      const kv = await new Kvm(jetstream(nc)).open("OMA_SANDBOXES");
      const entry = await kv.get(`sandbox.${sandbox!.sandboxId}`);
      expect(entry?.json<{ url: string }>().url).toBe("https://oma-a.internal.example:7443");
      await server.client(SandboxService).destroySandbox({ sandboxId: sandbox!.sandboxId });
    } finally {
      await nc.close();
      await server.stop();
      await removeDataDir(dir.path);
    }
  });
});
