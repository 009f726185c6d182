import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { classifyModelError, retryAfterOf, retryDelayMs } from "./model-errors.js";
import { defaultModelRetryPolicy } from "./model-retry-policy.js";

const apiError = (status: number, headers: Record<string, string> = {}) =>
  Anthropic.APIError.generate(status, { type: "error", error: { type: "x", message: "m" } }, "m", new Headers(headers));

describe("model errors (HARN-12)", () => {
  it("retries 429, 529, 5xx, 408, 409 and connection failures; not other 4xx", () => {
    expect(classifyModelError(apiError(429))).toMatchObject({ code: "MODEL_RATE_LIMITED", retryable: true, httpStatus: 429 });
    expect(classifyModelError(apiError(529))).toMatchObject({ code: "MODEL_OVERLOADED", retryable: true });
    expect(classifyModelError(apiError(503))).toMatchObject({ code: "MODEL_SERVER_ERROR", retryable: true });
    expect(classifyModelError(apiError(409)).retryable).toBe(true);
    expect(classifyModelError(apiError(400))).toMatchObject({ code: "MODEL_REQUEST_INVALID", retryable: false });
    const tooLong = Anthropic.APIError.generate(400, { type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 9000 tokens > 8000 maximum" } }, undefined, new Headers());
    expect(classifyModelError(tooLong)).toMatchObject({ code: "MODEL_PROMPT_TOO_LONG", retryable: false, httpStatus: 400 });
    expect(classifyModelError(apiError(401)).retryable).toBe(false);
    expect(classifyModelError(new Anthropic.APIConnectionError({ message: "reset" }))).toMatchObject({ code: "MODEL_CONNECTION_ERROR", retryable: true, httpStatus: 0 });
  });

  it("reads retry-after-ms, then retry-after in seconds or as an HTTP date", () => {
    expect(retryAfterOf(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }))).toBe(1500);
    expect(retryAfterOf(new Headers({ "retry-after": "2" }))).toBe(2000);
    const date = retryAfterOf(new Headers({ "retry-after": new Date(Date.now() + 60_000).toUTCString() }));
    expect(date).toBeGreaterThan(50_000);
    expect(retryAfterOf(new Headers())).toBeUndefined();
  });

  it("waits the server's retry-after when given, else doubles the backoff, capped", () => {
    const policy = { ...defaultModelRetryPolicy, initialBackoffMs: 100, maxBackoffMs: 1_000 };
    const plain = classifyModelError(apiError(500));
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(plain, a, policy))).toEqual([100, 200, 400, 800, 1000]);
    expect(retryDelayMs(classifyModelError(apiError(429, { "retry-after": "0.3" })), 4, policy)).toBe(300);
    expect(retryDelayMs(classifyModelError(apiError(429, { "retry-after": "30" })), 1, policy)).toBe(1000);
  });
});
