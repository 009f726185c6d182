import type { MessagesRequestBody, RecordedRequest, ScriptedResponse } from "@oma/conformance/scripted-model";
import type { Random } from "./random.js";

/** A turn's text names its session and number: "<session id> turn <n>". */
const TURN = /^(\S+) turn (\d+)$/;

/** The marker a tool call writes into its sandbox: unique per session, turn and step. */
export const toolMarker = (sessionId: string, turn: number, step: number) => `${sessionId}.t${turn}.s${step}`;

/** The tool_use id the script gives that call; the marker is read back from it. */
export const toolUseId = (marker: string) => `toolu_${marker.replaceAll(/[^A-Za-z0-9_]/g, "_")}`;

/**
 * The scripted model of the workload, shared by every session: each turn makes
 * `toolsPerTurn` bash calls, each appending its marker to `calls.txt` in the sandbox, then
 * ends with text. While a model fault is on, requests fail at random with 429, 529, 500 or
 * a response that never comes (the brain's idle timeout ends it).
 */
export class ModelScript {
  readonly #toolsPerTurn: number;
  readonly #random: Random;
  readonly #hangMs: number;
  #faultUntil = 0;
  faultsServed = 0;

  constructor(options: { toolsPerTurn: number; random: Random; hangMs: number }) {
    this.#toolsPerTurn = options.toolsPerTurn;
    this.#random = options.random;
    this.#hangMs = options.hangMs;
  }

  /** Model faults for the next `ms`. */
  faultFor(ms: number): void {
    this.#faultUntil = Math.max(this.#faultUntil, Date.now() + ms);
  }

  readonly respond = (request: RecordedRequest): ScriptedResponse => {
    if (Date.now() < this.#faultUntil && this.#random.chance(0.6)) {
      this.faultsServed++;
      switch (this.#random.int(0, 3)) {
        case 0:
          return { kind: "error", status: 429, retryAfterSeconds: 0.2 };
        case 1:
          return { kind: "error", status: 529 };
        case 2:
          return { kind: "error", status: 500 };
        default:
          return { content: [{ type: "text", text: "never delivered" }], latency: { firstByteMs: this.#hangMs } };
      }
    }
    const { sessionId, turn, step } = position(request.body);
    if (step >= this.#toolsPerTurn) return { content: [{ type: "text", text: `turn ${turn} done` }] };
    const marker = toolMarker(sessionId, turn, step);
    return { content: [{ type: "tool_use", id: toolUseId(marker), name: "bash", input: { command: `echo ${marker} >> calls.txt` } }] };
  };
}

/** Which session, turn and step a request is at: the last turn message, and the assistant turns after it. */
function position(body: MessagesRequestBody): { sessionId: string; turn: number; step: number } {
  for (let i = body.messages.length - 1; i >= 0; i--) {
    const m = body.messages[i]!;
    if (m.role !== "user") continue;
    const texts = typeof m.content === "string" ? [m.content] : m.content.filter((b) => b["type"] === "text").map((b) => String(b["text"]));
    // Two turn messages merge into one user message when a turn ended without an answer: the last counts.
    const match = texts.map((t) => TURN.exec(t.trim())).filter(Boolean).at(-1);
    if (match) {
      const step = body.messages.slice(i + 1).filter((x) => x.role === "assistant").length;
      return { sessionId: match[1]!, turn: Number(match[2]), step };
    }
  }
  throw new Error("the request has no turn message");
}
