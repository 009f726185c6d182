import { Code, ConnectError } from "@connectrpc/connect";
import { openAppender, type OmaSessionsClient } from "@oma/client";

export interface CountedClient {
  readonly client: OmaSessionsClient;
  /** AppendEvents streams and EmitEvents calls the client's appenders made. */
  readonly calls: { streams: number; emits: number };
}

/**
 * The sessions client with appenders whose calls are counted, so a test can tell a stream
 * from EmitEvents calls; `served: false` makes it look like a server without AppendEvents
 * (every stream UNIMPLEMENTED).
 */
export function countedAppender(client: OmaSessionsClient, served = true): CountedClient {
  const calls = { streams: 0, emits: 0 };
  const appendEvents = ((requests, options) => {
    calls.streams++;
    if (served) return client.appendEvents(requests, options);
    // eslint-disable-next-line require-yield
    return (async function* () {
      throw new ConnectError("AppendEvents is not served here", Code.Unimplemented);
    })();
  }) as OmaSessionsClient["appendEvents"];
  const emitEvents = ((request, options) => {
    calls.emits++;
    return client.emitEvents(request, options);
  }) as OmaSessionsClient["emitEvents"];
  return { client: { ...client, openAppender: () => openAppender({ appendEvents, emitEvents }, { streams: true }) }, calls };
}
