import { describe, expect, it } from "vitest";
import { isOmaError } from "../errors/oma-error.js";
import { TOOLS, validateToolInput } from "./tools.js";

function reasonAndPointer(name: string, input: unknown): [string, string | undefined] {
  try {
    validateToolInput(name, input);
    return ["ok", undefined];
  } catch (err) {
    if (!isOmaError(err)) throw err;
    return [err.reason, err.metadata["pointer"]];
  }
}

describe("tool input validation (SBX-3)", () => {
  it("accepts valid input of every tool", () => {
    expect(reasonAndPointer("bash", { command: "ls", timeout: 1000 })).toEqual(["ok", undefined]);
    expect(reasonAndPointer("edit_file", { path: "a", old_string: "x", new_string: "", replace_all: true })).toEqual(["ok", undefined]);
    expect(reasonAndPointer("list_files", {})).toEqual(["ok", undefined]);
  });

  it("every tool's schema compiles (validators are compiled at first use): a non-object input is refused at the root", () => {
    for (const tool of TOOLS) expect(reasonAndPointer(tool.name, "not an object"), tool.name).toEqual(["INVALID_TOOL_INPUT", "/"]);
  });

  it("names the offending field as a JSON pointer: missing, wrong type, unknown, out of range", () => {
    expect(reasonAndPointer("write_file", { path: "a" })).toEqual(["INVALID_TOOL_INPUT", "/content"]);
    expect(reasonAndPointer("bash", { command: 3 })).toEqual(["INVALID_TOOL_INPUT", "/command"]);
    expect(reasonAndPointer("grep", { pattern: "x", colour: true })).toEqual(["INVALID_TOOL_INPUT", "/colour"]);
    expect(reasonAndPointer("bash", { command: "ls", timeout: 0 })).toEqual(["INVALID_TOOL_INPUT", "/timeout"]);
    expect(reasonAndPointer("edit_file", { path: "a", old_string: "", new_string: "b" })).toEqual(["INVALID_TOOL_INPUT", "/old_string"]);
  });

  it("an unknown tool is TOOL_NOT_FOUND", () => {
    expect(reasonAndPointer("rm_rf", {})[0]).toBe("TOOL_NOT_FOUND");
  });

  it("every schema is a closed object schema", () => {
    for (const t of TOOLS) expect([t.inputSchema["type"], t.inputSchema["additionalProperties"]]).toEqual(["object", false]);
  });
});
