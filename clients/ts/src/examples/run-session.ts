// Creates a session on an OMA server, sends a user message, wakes a brain and prints the
// session's events until it goes idle.
//   node clients/ts/dist/examples/run-session.js --base-url http://127.0.0.1:7070 --message "Say hello."
import { parseArgs } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "../gen/oma/v1/event_pb.js";
import { SessionStatus } from "../gen/oma/v1/session_pb.js";
import { createOmaClient, OmaRpcError, userText, type OmaProtocol } from "../node.js";

const { values } = parseArgs({
  options: {
    "base-url": { type: "string", default: process.env["OMA_URL"] ?? "http://127.0.0.1:7070" },
    token: { type: "string", default: process.env["OMA_TOKEN"] },
    protocol: { type: "string", default: "grpc" },
    model: { type: "string", default: "claude-sonnet-4-5" },
    message: { type: "string", default: "Say hello." },
  },
});

function describe(event: Event): string {
  const json = toJson(EventSchema, event) as Record<string, unknown>;
  const kind = event.payload.case ?? "none";
  return `${event.seq} ${kind} ${JSON.stringify(json[kind] ?? {})}`;
}

async function main(): Promise<number> {
  const oma = createOmaClient({ baseUrl: values["base-url"], token: values.token, protocol: values.protocol as OmaProtocol });
  const { session } = await oma.sessions.createSession({ agent: { model: values.model } });
  const sessionId = session!.sessionId;
  console.log(`session ${sessionId}`);
  const sent = await oma.sessions.emit(sessionId, userText(values.message));
  await oma.harness.wake({ sessionId });
  for await (const event of oma.sessions.watch(sessionId)) {
    console.log(describe(event));
    const idle = event.payload.case === "statusChanged" && event.payload.value.status === SessionStatus.IDLE;
    if (idle && event.seq > sent.event!.seq) return 0;
  }
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`run-session: ${err instanceof OmaRpcError ? `${err.message} (reason ${err.reason || "-"})` : String(err)}`);
    process.exit(1);
  },
);
