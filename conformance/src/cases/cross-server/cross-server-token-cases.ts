// Two servers of one system (`--target A --target B`): tokens are one (SPEC SEC-18).
import type { ConformanceCase } from "../../runner/case.js";
import { CaseFailure, check, checkDeepEqual } from "../../runner/assertions.js";
import { expectUnauthenticated, T } from "../auth/auth-helpers.js";
import { S, TEST_MODEL } from "../session/session-helpers.js";
import { tenantClient } from "../vault/vault-helpers.js";
import { watch } from "../watch.js";

export const crossServerTokenCases: ConformanceCase[] = [
  {
    level: "MUST",
    needs: ["two-targets"],
    feature: "auth.tokens",
    id: "cross-server/SEC-18/tokens-across-servers",
    requirement: "SEC-18",
    title: "a token minted through one server works on the other in its tenant, a page token of one opens the next page on the other, and a revocation through one ends the token's open watch on the other and refuses it there",
    timeoutMs: 20_000,
    async run(ctx) {
      check(ctx.other, "the case needs a second target");
      const b = ctx.other;
      const client = await tenantClient(ctx);
      const onB = b.newClient(undefined, client.token);
      // Sessions made through B, read and listed through A, the listing continued through B.
      const label = ctx.uniqueId("batch").replace(/[^A-Za-z0-9._-]/g, "");
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        const sessionId = ctx.uniqueId("conf");
        await onB.unary(S.createSession, { sessionId, labels: { batch: label }, agent: { model: TEST_MODEL } });
        made.push(sessionId);
      }
      const sessionId = made[0]!;
      check((await client.client.unary(S.getSession, { sessionId })).session?.sessionId === sessionId, "GetSession through A with a token minted through A, of a session made through B");
      const first = await client.client.unary(S.listSessions, { pageSize: 2, labels: { batch: label } });
      check(first.nextPageToken !== "", "ListSessions of three sessions by two must give a next_page_token");
      const second = await onB.unary(S.listSessions, { pageSize: 2, pageToken: first.nextPageToken, labels: { batch: label } });
      checkDeepEqual([...first.sessions, ...second.sessions].map((s) => s.sessionId).sort(), [...made].sort(), "the pages of A then B list every session once");
      // A watch through B, the token revoked through A.
      let revoked = false;
      const log = await watch(ctx, sessionId, {
        client: onB,
        withinMs: 5000,
        allowEnd: true,
        until: () => false,
        async onMessage(l) {
          if (l.caughtUp.length > 0 && !revoked) {
            revoked = true;
            await ctx.rpc.unary(T.revokeToken, { tokenId: client.tokenId });
          }
        },
      }).catch((err: unknown) => {
        throw err instanceof CaseFailure ? new CaseFailure(`a watch through B of a token revoked through A stayed open: ${err.message}`) : err;
      });
      check(revoked, "the watch ended before its caught_up");
      check(log.error !== undefined, "the watch through B of a token revoked through A must end with an error, not cleanly");
      await expectUnauthenticated(Promise.reject(log.error), ["revoked"], "the end of B's watch after the token was revoked through A");
      await expectUnauthenticated(onB.unary(S.getSession, { sessionId }), ["revoked"], "GetSession through B with the token revoked through A");
    },
  },
];
