import type { ConformanceCase } from "../../runner/case.js";
import { check } from "../../runner/assertions.js";
import { bash, exec, withSandbox } from "./sandbox-helpers.js";

const MiB = 1024 * 1024;

/** SBX-16: resources.disk_bytes is the size of the workspace's own filesystem. */
export const diskCases: ConformanceCase[] = [
  {
    feature: "sandbox.disk",
    level: "MUST",
    id: "sandbox/SBX-16/disk-bytes-bounds-the-workspace",
    requirement: "SBX-16",
    title: "a workspace of disk_bytes = 24 MiB is a filesystem of that size: writing 48 MiB fails with ENOSPC, a file tool says the disk is full, freeing space makes it usable again",
    timeoutMs: 90_000,
    async run(ctx) {
      await withSandbox(
        ctx,
        async (sandboxId) => {
          const size = Number((await bash(ctx, sandboxId, "df -B1 --output=size /workspace | tail -1")).output.trim());
          check(size > 16 * MiB && size <= 24 * MiB, `the workspace's filesystem must hold at most disk_bytes (24 MiB), df says ${size} bytes`);
          const fill = await bash(ctx, sandboxId, "dd if=/dev/zero of=filler bs=64k count=768; s=$?; sync; exit $s", { timeoutSeconds: 60 });
          check(fill.isError && fill.output.includes("No space left on device"), `writing 48 MiB into a 24 MiB workspace must fail with ENOSPC, got exit ${fill.exitCode}: ${fill.output.slice(0, 300)}`);
          const write = await exec(ctx, sandboxId, "write_file", { path: "more.txt", content: "x".repeat(64 * 1024) });
          check(write.isError && /disk|space/i.test(write.output), `write_file on a full disk must be a tool error that says so, got: ${write.output.slice(0, 300)}`);
          const after = await bash(ctx, sandboxId, "rm filler && echo freed > note && cat note");
          check(after.output === "freed\n", `freeing space must make the workspace usable again, got: ${after.output.slice(0, 300)}`);
        },
        { diskBytes: BigInt(24 * MiB) },
      );
    },
  },
];
