/**
 * Durable appends over AppendEvents streams (SESS-22), driven by @grpc/grpc-js: one stream
 * per session, each keeping `window` requests in flight; a request counts once its ack (sent
 * when it is durable) is back.
 */
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { EventSchema } from "@oma/client/gen/oma/v1/event_pb.js";
import { AppendEventsRequestSchema } from "@oma/client/gen/oma/v1/session_service_pb.js";
import { performance } from "node:perf_hooks";

const passThrough = (b: Buffer): Buffer => b;

/** Events per second acknowledged as durable, over `ms`. */
export async function streamedAppendRate(options: { address: string; headers: Record<string, string>; sessionIds: readonly string[]; eventsPerRequest: number; window: number; ms: number }): Promise<number> {
  const client = new grpc.Client(options.address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(options.headers)) metadata.set(k, v);
  const events = Array.from({ length: options.eventsPerRequest }, (_, i) => create(EventSchema, { payload: { case: "custom", value: { type: "bench", data: { i } } } }));
  let acked = 0;
  const start = performance.now();
  const end = start + options.ms;
  await Promise.all(
    options.sessionIds.map(
      (sessionId) =>
        new Promise<void>((resolve, reject) => {
          const body = Buffer.from(toBinary(AppendEventsRequestSchema, create(AppendEventsRequestSchema, { sessionId, events })));
          const call = client.makeBidiStreamRequest("/oma.v1.SessionService/AppendEvents", passThrough, passThrough, metadata);
          let inFlight = 0;
          let ending = false;
          const fill = () => {
            while (!ending && inFlight < options.window) {
              if (performance.now() >= end) {
                ending = true;
                call.end();
                return;
              }
              inFlight++;
              call.write(body);
            }
          };
          call.on("data", () => {
            inFlight--;
            acked += options.eventsPerRequest;
            fill();
          });
          call.on("error", reject);
          call.on("end", () => resolve());
          fill();
        }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  client.close();
  return acked / seconds;
}
