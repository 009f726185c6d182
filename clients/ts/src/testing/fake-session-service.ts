import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport, type HandlerContext, type Transport } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { EventSchema, type Event } from "../gen/oma/v1/event_pb.js";
import { SessionService, type EmitEventRequest, type WatchEventsRequest, type WatchEventsResponse } from "../gen/oma/v1/session_service_pb.js";
import { omaErrors } from "../interceptors.js";

/** A ConnectError as an OMA server sends it: code plus ErrorInfo with reason and metadata. */
export function omaError(code: Code, reason: string, metadata: Record<string, string> = {}): ConnectError {
  return new ConnectError(`${reason} (fake)`, code, undefined, [{ desc: ErrorInfoSchema, value: { reason, domain: "oma.dev", metadata } }]);
}

export function fakeEvent(seq: number): Event {
  return create(EventSchema, { seq: BigInt(seq), id: `evt_${seq}`, payload: { case: "custom", value: { type: `n${seq}` } } });
}

/** What one WatchEvents call of the fake does: send these messages, then end or throw. */
export interface ScriptedStream {
  send: WatchEventsResponse["message"][];
  thenThrow?: ConnectError;
  /** Keep the stream open after sending (until the client cancels it). */
  hang?: boolean;
}

/**
 * An in-memory SessionService whose watch streams and emits follow a script, so the
 * client's reconnect and retry logic can be driven through every failure it handles.
 */
export function fakeSessionService(script: { streams?: ScriptedStream[]; emit?: (req: EmitEventRequest, attempt: number, ctx: HandlerContext) => Promise<Event> }) {
  const watchRequests: WatchEventsRequest[] = [];
  const emitRequests: EmitEventRequest[] = [];
  const headers: Headers[] = [];
  let cancelledStreams = 0;
  const transport: Transport = createRouterTransport(
    (router) =>
      router.service(SessionService, {
        async *watchEvents(req, ctx) {
          watchRequests.push(req);
          headers.push(ctx.requestHeader);
          const step = script.streams?.[watchRequests.length - 1];
          if (!step) throw new ConnectError("no more scripted streams", Code.FailedPrecondition);
          for (const message of step.send) yield { message } as WatchEventsResponse;
          if (step.thenThrow) throw step.thenThrow;
          if (step.hang) {
            await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
            cancelledStreams += 1;
          }
        },
        async emitEvent(req, ctx) {
          emitRequests.push(req);
          headers.push(ctx.requestHeader);
          if (!script.emit) throw new ConnectError("no emit script", Code.Unimplemented);
          return { event: await script.emit(req, emitRequests.length, ctx) };
        },
      }),
    { transport: { interceptors: [omaErrors()] } },
  );
  return {
    transport,
    watchRequests,
    emitRequests,
    headers,
    get cancelledStreams() {
      return cancelledStreams;
    },
  };
}

export const eventMsg = (seq: number): WatchEventsResponse["message"] => ({ case: "event", value: fakeEvent(seq) });
export const caughtUp = (head: number): WatchEventsResponse["message"] => ({ case: "caughtUp", value: { $typeName: "oma.v1.CaughtUp", headSeq: BigInt(head) } });
