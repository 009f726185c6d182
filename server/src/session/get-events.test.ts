import { Code } from "@connectrpc/connect";
import { EventOrder, SessionService } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/test-app.js";
import { customEvent, expectRpcError, newSession, range, seqsOf, type SessionClient } from "./session-test-kit.js";

describe("SessionService: GetEvents slices (real server)", () => {
  let app: TestApp;
  let client: SessionClient;
  let sessionId: string;
  beforeAll(async () => {
    app = await startTestApp();
    client = app.client(SessionService);
    sessionId = await newSession(client);
    for (let i = 0; i < 6; i++) await client.emitEvents({ sessionId, events: range(1, 250).map((j) => customEvent(`e${i * 250 + j}`)) });
  });
  afterAll(async () => {
    await app.stop();
  });
  const get = (req: { afterSeq?: bigint; beforeSeq?: bigint; limit?: number; order?: EventOrder }) => client.getEvents({ sessionId, ...req });

  it("SESS-11: after_seq < seq < before_seq; ascending from the low end, descending from the high end", async () => {
    expect(seqsOf((await get({ afterSeq: 10n, limit: 3 })).events)).toEqual([11, 12, 13]);
    expect(seqsOf((await get({ beforeSeq: 10n, limit: 3, order: EventOrder.DESCENDING })).events)).toEqual([9, 8, 7]);
    expect(seqsOf((await get({ limit: 2, order: EventOrder.DESCENDING })).events)).toEqual([1500, 1499]);
    expect(seqsOf((await get({ afterSeq: 4n, beforeSeq: 8n, order: EventOrder.ASCENDING })).events)).toEqual([5, 6, 7]);
    expect(seqsOf((await get({ afterSeq: 4n, beforeSeq: 8n, order: EventOrder.DESCENDING })).events)).toEqual([7, 6, 5]);
    expect(seqsOf((await get({ afterSeq: 1498n })).events)).toEqual([1499, 1500]);
    expect((await get({ afterSeq: 1500n })).events).toEqual([]);
    expect(seqsOf((await get({ beforeSeq: 99_999n, limit: 1, order: EventOrder.DESCENDING })).events)).toEqual([1500]);
    expect((await get({})).headSeq).toBe(1500n);
  });

  it("SESS-11: limit 0 means 100 and values above 1000 are coerced to 1000", async () => {
    expect(seqsOf((await get({})).events)).toEqual(range(1, 100));
    expect(seqsOf((await get({ limit: 2_147_483_647 })).events)).toEqual(range(1, 1000));
    expect((await get({ afterSeq: 100n, limit: 5000, order: EventOrder.DESCENDING })).events).toHaveLength(1000);
  });

  it("SESS-11: negative bounds are INVALID_FIELD; before <= after is INVALID_FIELD; after beyond the head is OUT_OF_RANGE", async () => {
    await expectRpcError(get({ afterSeq: -1n }), Code.InvalidArgument, "INVALID_FIELD", "after_seq");
    await expectRpcError(get({ beforeSeq: -1n }), Code.InvalidArgument, "INVALID_FIELD", "before_seq");
    await expectRpcError(get({ limit: -1 }), Code.InvalidArgument, "INVALID_FIELD", "limit");
    await expectRpcError(get({ afterSeq: 5n, beforeSeq: 5n }), Code.InvalidArgument, "INVALID_FIELD", "before_seq");
    await expectRpcError(get({ order: 7 as EventOrder }), Code.InvalidArgument, "INVALID_FIELD", "order");
    const info = await expectRpcError(get({ afterSeq: 1501n }), Code.OutOfRange, "SEQ_OUT_OF_RANGE");
    expect(info.metadata).toMatchObject({ head_seq: "1500", after_seq: "1501" });
    await expectRpcError(get({ afterSeq: 9_223_372_036_854_775_807n }), Code.OutOfRange, "SEQ_OUT_OF_RANGE");
  });
});
