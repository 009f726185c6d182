import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { omaErrorInfo, type OmaErrorInfo } from "@oma/client";
import { EventSchema, type Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { randomUUID } from "node:crypto";
import { expect } from "vitest";

/** Helpers shared by the SessionService tests (real server, real sockets). */
export type SessionClient = Client<typeof SessionService>;

export const uniqueSessionId = (prefix = "t") => `${prefix}-${randomUUID()}`;

export const textEvent = (text: string): Event =>
  create(EventSchema, { payload: { case: "userMessage", value: { content: [{ block: { case: "text", value: { text } } }] } } });

export const customEvent = (type: string, data: Record<string, unknown> = {}) =>
  create(EventSchema, { payload: { case: "custom", value: { type, data: data as never } } });

export async function newSession(client: SessionClient, labels: Record<string, string> = {}): Promise<string> {
  const res = await client.createSession({ sessionId: uniqueSessionId(), labels, agent: { model: "claude-test" } });
  return res.session!.sessionId;
}

/** Every event of a session, ascending, read a page at a time. */
export async function readAll(client: SessionClient, sessionId: string): Promise<Event[]> {
  const out: Event[] = [];
  for (;;) {
    const page = await client.getEvents({ sessionId, afterSeq: BigInt(out.length), limit: 1000 });
    out.push(...page.events);
    if (page.events.length < 1000) return out;
  }
}

/** The call fails with this code and reason (and field, if given); returns the error detail. */
export async function expectRpcError(call: Promise<unknown>, code: Code, reason: string, field?: string): Promise<OmaErrorInfo> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  const info = omaErrorInfo(err);
  expect(info, `expected ${Code[code]} / ${reason}, got ${String(err)}`).toBeDefined();
  expect({ code: Code[info!.code], reason: info!.reason }).toEqual({ code: Code[code], reason });
  if (field !== undefined) expect(info!.field).toBe(field);
  return info!;
}

export const seqsOf = (events: readonly Event[]) => events.map((e) => Number(e.seq));
export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
