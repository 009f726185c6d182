import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { OmaError } from "../errors/oma-error.js";

/** One tool as ListTools describes it: the schema is what Execute validates against. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

const path = (what: string) => ({ type: "string", minLength: 1, maxLength: 4096, description: what });
const schema = (properties: Record<string, unknown>, required: string[]) => ({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties,
  required,
  additionalProperties: false,
});

/** The tools every sandbox offers (SBX-2). Paths are relative to the workspace or absolute inside it. */
export const TOOLS: readonly ToolDefinition[] = [
  {
    name: "bash",
    description: "Runs a bash command in the sandbox's workspace and returns its stdout and stderr interleaved. A non-zero exit is an error result. Nothing survives the command: background processes are killed when it ends.",
    inputSchema: schema({ command: { type: "string", minLength: 1, description: "The command, run with bash -c." }, timeout: { type: "integer", minimum: 1, maximum: 3_600_000, description: "Timeout in milliseconds (default: the call's timeout, 120000)." } }, ["command"]),
  },
  {
    name: "read_file",
    description: "Reads a text file from the workspace. offset skips that many lines; limit caps the lines returned (default 2000).",
    inputSchema: schema({ path: path("File to read."), offset: { type: "integer", minimum: 0, description: "Lines to skip." }, limit: { type: "integer", minimum: 1, maximum: 100_000, description: "Most lines to return." } }, ["path"]),
  },
  {
    name: "write_file",
    description: "Writes a file in the workspace, creating parent directories and replacing any existing content.",
    inputSchema: schema({ path: path("File to write."), content: { type: "string", description: "The whole new content." } }, ["path", "content"]),
  },
  {
    name: "edit_file",
    description: "Replaces old_string with new_string in a file. Fails if old_string is not found, or occurs more than once unless replace_all is true.",
    inputSchema: schema({ path: path("File to edit."), old_string: { type: "string", minLength: 1, description: "Exact text to replace." }, new_string: { type: "string", description: "Replacement text." }, replace_all: { type: "boolean", description: "Replace every occurrence." } }, ["path", "old_string", "new_string"]),
  },
  {
    name: "list_files",
    description: "Lists a directory of the workspace (default: its root); directories end with '/'.",
    inputSchema: schema({ path: path("Directory to list.") }, []),
  },
  {
    name: "glob",
    description: "Finds files whose path matches a glob pattern (** matches any depth), relative to path (default: the workspace root).",
    inputSchema: schema({ pattern: { type: "string", minLength: 1, maxLength: 1024, description: "e.g. src/**/*.ts" }, path: path("Directory to search from.") }, ["pattern"]),
  },
  {
    name: "grep",
    description: "Searches file contents for a regular expression (Python syntax); prints file:line:text for every match. glob limits the files searched.",
    inputSchema: schema({ pattern: { type: "string", minLength: 1, maxLength: 4096, description: "Regular expression." }, path: path("File or directory to search (default: the workspace root)."), glob: { type: "string", minLength: 1, description: "Only files matching this glob, e.g. *.py." } }, ["pattern"]),
  },
];

const ajv = new Ajv2020({ allErrors: false, strict: true });
/** Each tool's validator, compiled when the tool is first used (compiling all of them took ~100 ms of every start). */
const validators = new Map<string, ValidateFunction>();

function validatorOf(name: string): ValidateFunction | undefined {
  let validate = validators.get(name);
  if (!validate) {
    const tool = TOOLS.find((t) => t.name === name);
    if (!tool) return undefined;
    validate = ajv.compile(tool.inputSchema);
    validators.set(name, validate);
  }
  return validate;
}

/** The JSON pointer of the input field an ajv error is about. */
function pointerOf(err: ErrorObject): string {
  const params = err.params as { missingProperty?: string; additionalProperty?: string };
  const extra = params.missingProperty ?? params.additionalProperty;
  return extra === undefined ? err.instancePath || "/" : `${err.instancePath}/${extra.replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

/** Throws TOOL_NOT_FOUND or INVALID_TOOL_INPUT (field = JSON pointer into the input). */
export function validateToolInput(name: string, input: unknown): void {
  const validate = validatorOf(name);
  if (!validate) throw new OmaError("TOOL_NOT_FOUND", `no tool named "${name}"`, { tool: name, field: "name" });
  if (validate(input)) return;
  const err = validate.errors?.[0];
  const pointer = err ? pointerOf(err) : "/";
  throw new OmaError("INVALID_TOOL_INPUT", `input${pointer === "/" ? "" : pointer}: ${err?.message ?? "does not match the schema"}`, {
    tool: name,
    field: `input${pointer === "/" ? "" : pointer}`,
    pointer,
    constraint: err?.keyword,
  });
}
