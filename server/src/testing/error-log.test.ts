import { describe, expect, it } from "vitest";
import { ErrorLog } from "./error-log.js";

describe("a test server's error log", () => {
  it("keeps what the server logged at error level, after a mark, with the cause and where it was thrown", () => {
    const log = new ErrorLog();
    log.logger.warn("not an error");
    log.logger.error({ err: new TypeError("boom"), procedure: "oma.v1.SessionService/GetEvents" }, "internal error");
    const mark = log.mark;
    expect(mark).toBe(1);
    expect(log.since(mark)).toBe("");
    const text = log.since();
    expect(text.split("\n")[0]).toBe("the server logged 1 error(s):");
    expect(text).toContain("internal error | oma.v1.SessionService/GetEvents | TypeError: boom | at ");
  });

  it("quotes five errors and counts the rest", () => {
    const log = new ErrorLog();
    for (let i = 0; i < 7; i++) log.logger.error(`failure ${i}`);
    const lines = log.since().split("\n");
    expect(lines).toHaveLength(7);
    expect(lines[5]).toContain("failure 4");
    expect(lines[6]).toBe("  … and 2 more");
  });
});
