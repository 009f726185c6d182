import type { DescMessage, DescMethodServerStreaming, MessageInitShape } from "@bufbuild/protobuf";
import { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import type { CaseContext } from "../../runner/case.js";
import { CaseFailure, check, expectFailure } from "../../runner/assertions.js";
import { watch } from "../watch.js";
import type { CallOptions, RpcClient } from "../../client/rpc-client.js";
import type { RpcFailure } from "../../client/rpc-failure.js";

export const T = TokenService.method;

/** Whether the target serves a feature (a case checks the calls of undeclared services not at all). */
export const serves = (ctx: CaseContext, feature: string) => ctx.info.features.includes(feature);

/** The first message of a server stream (then closes it), or the stream's error. */
export async function firstOf<I extends DescMessage, O extends DescMessage>(client: RpcClient, method: DescMethodServerStreaming<I, O>, request: MessageInitShape<I>, options: CallOptions = {}): Promise<unknown> {
  const stop = new AbortController();
  try {
    for await (const m of client.serverStream(method, request, { ...options, signal: stop.signal })) return m;
    return "the stream ended without a message";
  } finally {
    stop.abort();
  }
}

/** SEC-4: the call must be UNAUTHENTICATED / UNAUTHENTICATED with metadata `cause` one of `causes`. */
export async function expectUnauthenticated(call: Promise<unknown>, causes: readonly string[], what: string): Promise<RpcFailure> {
  const failure = await expectFailure(call, { code: "UNAUTHENTICATED", reason: "UNAUTHENTICATED" }, what);
  const cause = failure.metadata["cause"];
  check(cause !== undefined && causes.includes(cause), `${what}: expected metadata cause ${causes.join(" or ")}, got ${cause ?? "none"}`);
  return failure;
}

/** SEC-5: the call must be PERMISSION_DENIED / PERMISSION_DENIED naming the caller's role and the procedure. */
export async function expectDenied(call: Promise<unknown>, role: string, what: string): Promise<RpcFailure> {
  const failure = await expectFailure(call, { code: "PERMISSION_DENIED", reason: "PERMISSION_DENIED" }, what);
  check(failure.metadata["role"] === role, `${what}: expected metadata role ${role}, got ${failure.metadata["role"] ?? "none"}`);
  check((failure.metadata["procedure"] ?? "") !== "", `${what}: the error must name the procedure (metadata procedure)`);
  return failure;
}

/** A token id the server never issued, in the form the protocol gives token ids. */
export const unknownTokenId = () => `tok_${[...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

/**
 * SEC-8: watches the session with `client` (whose token is `tokenId`), has the token revoked
 * through `revoker` at the watch's caught_up, and checks that the watch then ends by itself
 * with UNAUTHENTICATED (cause revoked) within 5 s. `where` names the watch in failures.
 */
export async function expectWatchEndsAtRevocation(ctx: CaseContext, sessionId: string, client: RpcClient, revoker: RpcClient, tokenId: string, where: string): Promise<void> {
  let revoked = false;
  const log = await watch(ctx, sessionId, {
    client,
    withinMs: 5000,
    allowEnd: true,
    until: () => false,
    async onMessage(l) {
      if (l.caughtUp.length > 0 && !revoked) {
        revoked = true;
        await revoker.unary(T.revokeToken, { tokenId });
      }
    },
  }).catch((err: unknown) => {
    throw err instanceof CaseFailure ? new CaseFailure(`${where} of a token revoked after its caught_up stayed open: ${err.message}`) : err;
  });
  check(revoked, `${where} ended before its caught_up`);
  check(log.error !== undefined, `${where} of a revoked token must end with an error, not cleanly`);
  await expectUnauthenticated(Promise.reject(log.error), ["revoked"], `the end of ${where} after its token was revoked`);
}
