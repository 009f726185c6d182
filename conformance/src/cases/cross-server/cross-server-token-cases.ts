// Two servers of one system (`--target A --target B`): tokens are one (SPEC SEC-18).
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkDeepEqual } from "../../runner/assertions.js";
import { expectUnauthenticated, expectWatchEndsAtRevocation } from "../auth/auth-helpers.js";
import { S, TEST_MODEL } from "../session/session-helpers.js";
import { tenantClient } from "../vault/vault-helpers.js";

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
      await expectWatchEndsAtRevocation(ctx, sessionId, onB, ctx.rpc, client.tokenId, "a watch through B (the token revoked through A)");
      await expectUnauthenticated(onB.unary(S.getSession, { sessionId }), ["revoked"], "GetSession through B with the token revoked through A");
    },
  },
];
