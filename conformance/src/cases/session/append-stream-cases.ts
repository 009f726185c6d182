import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AppendEventsRequestSchema } from "@oma/client/gen/oma/v1/session_service_pb.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { CaseSkipped, check, checkDeepEqual, checkEqual, expectFailure } from "../../runner/assertions.js";
import { userText } from "../events.js";
import { headSeq, newSession, S, texts } from "./session-helpers.js";

const appendStream = { feature: "session.append_stream", level: "MUST" } as const;

type Request = MessageInitShape<typeof AppendEventsRequestSchema>;

/** The client's bidirectional streams, or a skip when its protocol has none (HTTP/1.1). */
function bidi(ctx: CaseContext) {
  const open = ctx.rpc.bidiStream;
  if (!open) throw new CaseSkipped(`AppendEvents needs a bidirectional stream, which ${ctx.rpc.protocol} over HTTP/1.1 cannot carry`);
  return (requests: AsyncIterable<Request>) => open(S.appendEvents, requests);
}

/** Requests the case sends one at a time, when it decides to. */
function requestFeed() {
  const queue: Request[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  return {
    send(request: Request) {
      queue.push(request);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *requests(): AsyncIterable<Request> {
      for (;;) {
        const next = queue.shift();
        if (next) yield next;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

export const appendStreamCases: ConformanceCase[] = [
  {
    ...appendStream,
    id: "session/SESS-22/acks-in-order-once-durable",
    requirement: "SESS-22",
    title: "AppendEvents acks 30 pipelined batches in the order sent, with consecutive seqs, each readable when acked; a repeated key is a duplicate",
    async run(ctx) {
      const open = bidi(ctx);
      const sessionId = await newSession(ctx);
      const requests: Request[] = Array.from({ length: 30 }, (_, i) => ({ sessionId, events: [userText(`a${i}`), userText(`b${i}`)], idempotencyKey: `append-${i}` }));
      requests.push({ ...requests[3]! });
      async function* all() {
        yield* requests;
      }
      const acks: { seqs: number[]; duplicate: boolean }[] = [];
      for await (const ack of open(all())) {
        const seqs = ack.events.map((e) => Number(e.seq));
        // Acknowledged only once durable: another call reads it at once.
        const last = seqs.at(-1) ?? 0;
        const read = await ctx.rpc.unary(S.getEvents, { sessionId, afterSeq: BigInt(Math.max(0, last - 1)), limit: 1 });
        checkEqual(read.events[0]?.seq, last, `GetEvents right after the ack of seq ${last}`);
        acks.push({ seqs, duplicate: ack.duplicate });
      }
      checkEqual(acks.length, requests.length, "acks, one per request");
      checkDeepEqual(acks.slice(0, 30).map((a) => a.seqs), Array.from({ length: 30 }, (_, i) => [2 * i + 1, 2 * i + 2]), "seqs of the acks, in the order sent");
      check(acks.slice(0, 30).every((a) => !a.duplicate), "first appends must not be duplicates");
      checkDeepEqual(acks[30], { seqs: [7, 8], duplicate: true }, "the ack of a repeated key");
      checkEqual(await headSeq(ctx, sessionId), 60, "GetSession.head_seq");
    },
  },
  {
    ...appendStream,
    id: "session/SESS-22/refused-request-ends-stream",
    requirement: "SESS-22",
    title: "a request with a stale expected_head_seq ends the stream with HEAD_SEQ_MISMATCH after the acks before it, and writes nothing",
    async run(ctx) {
      const open = bidi(ctx);
      const sessionId = await newSession(ctx);
      const feed = requestFeed();
      const acked: number[] = [];
      const stream = (async () => {
        for await (const ack of open(feed.requests())) {
          check(ack.events.length > 0, "an ack must carry the events it acknowledges");
          acked.push(...ack.events.map((e) => Number(e.seq)));
          // The next request goes out only after this ack, so its expected head is known.
          if (acked.length === 1) feed.send({ sessionId, events: [userText("second")], expectedHeadSeq: 1n });
          if (acked.length === 2) feed.send({ sessionId, events: [userText("stale")], expectedHeadSeq: 1n });
        }
      })();
      feed.send({ sessionId, events: [userText("first")], expectedHeadSeq: 0n });
      await expectFailure(stream, { code: "FAILED_PRECONDITION", reason: "HEAD_SEQ_MISMATCH" }, "the stale request");
      feed.end();
      checkDeepEqual(acked, [1, 2], "seqs acknowledged before the refusal");
      const log = await ctx.rpc.unary(S.getEvents, { sessionId, afterSeq: 0n, limit: 10 });
      checkDeepEqual(texts(log.events), ["first", "second"], "the log");
    },
  },
];
