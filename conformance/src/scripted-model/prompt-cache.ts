import { createHash } from "node:crypto";
import type { MessagesRequestBody } from "./types.js";

/** Token counts the Messages API reports for a request's input. */
export interface InputUsage {
  readonly input_tokens: number;
  readonly cache_creation_input_tokens: number;
  readonly cache_read_input_tokens: number;
}

/** A rough, deterministic token count: one token per four characters of JSON. */
export function countTokens(value: unknown): number {
  return Math.ceil(JSON.stringify(value ?? "").length / 4);
}

/**
 * Simulates prompt caching the way the Messages API does it: the prompt is the sequence
 * tools → system → messages; every block marked `cache_control` is a breakpoint; a
 * request reads from the cache the longest prefix ending at a breakpoint that an earlier
 * request wrote, and writes the prefix up to its last breakpoint. Deterministic, so tests
 * can assert that a brain's cache markers actually hit.
 */
export class PromptCache {
  readonly #written = new Set<string>();

  usageFor(body: MessagesRequestBody, parts: readonly PromptPart[] = promptParts(body)): InputUsage {
    const total = sumTokens(parts);
    const hash = createHash("sha256");
    let tokens = 0;
    const boundaries: { key: string; tokens: number; breakpoint: boolean }[] = [];
    for (const part of parts) {
      hash.update(part.json);
      tokens += part.tokens;
      boundaries.push({ key: hash.copy().digest("hex"), tokens, breakpoint: part.breakpoint });
    }
    // Like the API, a breakpoint also finds entries written at up to LOOKBACK_BLOCKS
    // block boundaries before it, so one marker on the newest block keeps hitting.
    let read = 0;
    let lastBreakpoint = -1;
    boundaries.forEach((b, i) => {
      if (!b.breakpoint) return;
      lastBreakpoint = i;
      for (let j = i; j >= 0 && j >= i - LOOKBACK_BLOCKS; j--) {
        const candidate = boundaries[j]!;
        if (this.#written.has(candidate.key)) {
          read = Math.max(read, candidate.tokens);
          break;
        }
      }
    });
    const lastTokens = lastBreakpoint >= 0 ? boundaries[lastBreakpoint]!.tokens : 0;
    const creation = lastTokens > read ? lastTokens - read : 0;
    for (const b of boundaries) if (b.breakpoint) this.#written.add(b.key);
    return { input_tokens: total - read - creation, cache_creation_input_tokens: creation, cache_read_input_tokens: read };
  }
}

/**
 * The input tokens of a request, as `usage` reports them (input + cache reads + cache
 * writes) and as `count_tokens` answers: the sum over the prompt's parts (each tool, each
 * system block, each message block) of one token per four characters of the part's JSON
 * without `cache_control`, rounded up per part. Deterministic and cheap, so tests know in
 * advance what a prompt costs; real tokenizers differ, which a brain must not rely on.
 */
export function promptTokens(body: PromptLike): number {
  return sumTokens(promptParts(body));
}

export function sumTokens(parts: readonly PromptPart[]): number {
  return parts.reduce((n, p) => n + p.tokens, 0);
}

/** How many block boundaries before a breakpoint the cache looks for an earlier entry. */
export const LOOKBACK_BLOCKS = 20;

/** The parts of a Messages request that make its prompt (a request body, or the SDK's own param types). */
export interface PromptLike {
  readonly messages: readonly { readonly role: string; readonly content: string | readonly object[] }[];
  readonly system?: string | readonly object[] | undefined;
  readonly tools?: readonly object[] | undefined;
}

/** One cacheable part of a prompt: a tool, a system block or a message block. */
export interface PromptPart {
  readonly json: string;
  readonly tokens: number;
  readonly breakpoint: boolean;
}

/** The parts of a prompt in cache order: tools, system, messages. */
export function promptParts(body: PromptLike): PromptPart[] {
  const parts: PromptPart[] = [];
  const add = (value: unknown) => {
    const json = JSON.stringify(stripCacheControl(value));
    const breakpoint = typeof value === "object" && value !== null && "cache_control" in value;
    parts.push({ json, tokens: Math.ceil(json.length / 4), breakpoint });
  };
  for (const tool of body.tools ?? []) add(tool);
  if (typeof body.system === "string") add({ type: "text", text: body.system });
  else for (const block of body.system ?? []) add(block);
  for (const message of body.messages) {
    if (typeof message.content === "string") add({ role: message.role, text: message.content });
    else for (const block of message.content) add({ role: message.role, ...block });
  }
  return parts;
}

function stripCacheControl(value: unknown): unknown {
  if (typeof value !== "object" || value === null || !("cache_control" in value)) return value;
  const { cache_control: _ignored, ...rest } = value as Record<string, unknown>;
  return rest;
}
