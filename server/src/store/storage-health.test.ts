import { describe, expect, it } from "vitest";
import { isOmaError } from "../errors/oma-error.js";
import { StorageHealth } from "./storage-health.js";

const ioError = (message: string, code = "LEVEL_IO_ERROR") => Object.assign(new Error(message), { code });

// SESS-21: the first failed write names the cause, and every later write gets the same answer.
describe("StorageHealth", () => {
  it("turns LevelDB's no-space error into STORAGE_FULL and refuses every later write without trying it", async () => {
    const health = new StorageHealth();
    const failures: string[] = [];
    health.onFailure((f) => failures.push(f.reason));
    expect(await health.write(async () => 1)).toBe(1);
    const first = await health.write(() => Promise.reject(ioError("IO error: /data/000003.log: No space left on device"))).catch((e: unknown) => e);
    expect(isOmaError(first, "STORAGE_FULL") && first.metadata).toEqual({ cause: "ENOSPC" });
    let tried = false;
    const later = await health.write(async () => void (tried = true)).catch((e: unknown) => e);
    expect([later, tried, failures]).toEqual([first, false, ["STORAGE_FULL"]]);
  });

  it("turns any other failure into STORAGE_UNAVAILABLE with its code, never its message", async () => {
    const health = new StorageHealth();
    const err = await health.write(() => Promise.reject(ioError("IO error: /secret/path: Input/output error", "EIO"))).catch((e: unknown) => e);
    expect(isOmaError(err, "STORAGE_UNAVAILABLE") && err.metadata).toEqual({ cause: "EIO" });
    expect(String((err as Error).message)).not.toContain("/secret/path");
  });
});
