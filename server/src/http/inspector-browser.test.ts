import { byStep, lastUserText } from "@oma/conformance/scripted-model";
import { StopReason } from "@oma/client/gen/oma/v1/session_pb.js";
import { TokenRole } from "@oma/client/gen/oma/v1/token_pb.js";
import { TokenService } from "@oma/client/gen/oma/v1/token_service_pb.js";
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrainFixture } from "../harness/testing/brain-fixture.js";
import { chromiumAvailable, launchChromium, withScreenshot, type Chromium } from "../testing/chromium.js";

// The inspector in a real headless Chromium against the real server, real worker processes
// and the scripted model: what an operator sees is what the public API shows to the token.
const browser = chromiumAvailable();
if (!browser.available) console.warn(`!!! SKIPPED the inspector in Chromium because ${browser.why}`);

const MARKER = `inspector-output-${randomUUID().slice(0, 8)}`;
const script = byStep([
  (req) =>
    lastUserText(req.body) === "crash"
      ? { content: [{ type: "tool_use", name: "bash", input: { command: "sleep 3; echo survived-the-crash" } }] }
      : { content: [{ type: "text", text: "Running it." }, { type: "tool_use", name: "bash", input: { command: `echo ${MARKER}` } }], latency: { firstByteMs: 300 } },
  { content: [{ type: "text", text: "All done." }] },
]);

let fx: BrainFixture;
let chrome: Chromium;
beforeAll(async () => {
  if (!browser.available) return;
  fx = await BrainFixture.start({ model: { script } });
  await Promise.all([fx.startWorker(), fx.startWorker()]);
  chrome = await launchChromium();
});
afterAll(async () => {
  await chrome?.close();
  await fx?.stop();
});

const link = (path: string, token: string) => `${fx.app.url}${path}#token=${encodeURIComponent(token)}`;

async function open(name: string, path: string, token: string, check: (page: Page) => Promise<void>): Promise<void> {
  const page = await chrome.newPage();
  try {
    await withScreenshot(page, name, async () => {
      await page.goto(link(path, token));
      // The token leaves the address bar as soon as the page has read it.
      await page.waitForFunction('!location.hash.includes("token=")');
      await check(page);
    });
  } finally {
    await page.close();
  }
}

describe.skipIf(!browser.available)("the inspector in Chromium", () => {
  it("shows a session live: the turn appears as it runs, and its tool call shows its output", async () => {
    const sessionId = await fx.createSession({}, "run the marker");
    await open("live-session", `/sessions/${sessionId}`, fx.app.adminToken, async (page) => {
      // The page is open before the brain starts: everything after this arrives live.
      await page.locator(".turn").first().waitFor();
      await page.locator(".item.user").first().waitFor();
      await fx.harness.wake({ sessionId });
      const tool = page.locator('.item.tool[data-tool="bash"][data-state="ok"]');
      await tool.waitFor({ timeout: 30_000 });
      await tool.locator("details.output summary").click();
      await expect(tool.locator("details.output pre").textContent()).resolves.toContain(MARKER);
      expect(await tool.locator(".head").textContent()).toMatch(/exit 0/);
      await page.locator('.item.note.status.ok:has-text("idle (end_turn)")').waitFor({ timeout: 30_000 });
      expect(await page.locator(".item.model").count()).toBe(2);
      await expect(page.locator(".diagnosis .finding.ok").textContent()).resolves.toMatch(/Nothing went wrong/);
      expect(await page.locator('.brains tr[data-end="released"]').count()).toBe(1);
    });
    await open("sessions-list", "/", fx.app.adminToken, async (page) => {
      await page.locator(`tr[data-session="${sessionId}"]`).waitFor();
      expect(await page.locator(`tr[data-session="${sessionId}"] .badge`).textContent()).toBe("idle");
    });
  });

  it("shows a killed brain as a lease lost and a new brain taking over", async () => {
    const sessionId = await fx.createSession({}, "crash");
    await fx.harness.wake({ sessionId });
    // Kill the brain's worker while its tool call runs.
    let victim;
    for (let i = 0; i < 200 && !victim; i++) {
      const events = await fx.events(sessionId);
      if (events.some((e) => e.payload.case === "toolUse")) victim = await fx.workerOf(sessionId);
      else await new Promise((r) => setTimeout(r, 25));
    }
    expect(victim).toBeDefined();
    await fx.kill(victim!);
    expect(await fx.waitIdle(sessionId, 0, 40_000)).toBe(StopReason.END_TURN);
    await open("killed-brain", `/sessions/${sessionId}`, fx.app.adminToken, async (page) => {
      const lost = page.locator('.brains tr[data-end="lost"]');
      await lost.waitFor();
      expect(await lost.textContent()).toMatch(/lease lost \(expired\)/);
      expect(await lost.textContent()).toContain(victim!.id);
      const successor = page.locator('.brains tr[data-end="released"]');
      expect(await successor.textContent()).toMatch(/rescheduled/);
      expect(await page.locator(".item.note.status.problem").first().textContent()).toMatch(/lease lost/);
      expect(await page.locator('.diagnosis .finding[data-area="brain"]').textContent()).toMatch(/lost its lease/);
      await page.locator('.item.tool[data-state="ok"] details.output summary').click();
      expect(await page.locator('.item.tool[data-state="ok"] details.output pre').textContent()).toContain("survived-the-crash");
    });
  });

  it("shows another tenant's token nothing of the session", async () => {
    const sessionId = await fx.createSession({}, "run the marker");
    const { bearerToken } = await fx.app.client(TokenService).createToken({ tenant: `other-${randomUUID().slice(0, 8)}`, role: TokenRole.CLIENT });
    await open("other-tenant-list", "/", bearerToken, async (page) => {
      await page.locator("p.empty").waitFor();
      expect(await page.locator(`tr[data-session="${sessionId}"]`).count()).toBe(0);
    });
    await open("other-tenant-session", `/sessions/${sessionId}`, bearerToken, async (page) => {
      const problem = page.locator(".problem[role=alert]").first();
      await problem.waitFor();
      expect(await problem.textContent()).toMatch(/Not found \(SESSION_NOT_FOUND\)/);
      expect(await page.locator(".item").count()).toBe(0);
    });
  });

  it("tells a bad token so, and asks for another", async () => {
    // A token of the right form whose secret is wrong: the server does not know it.
    const { bearerToken } = await fx.app.client(TokenService).createToken({ tenant: "default", role: TokenRole.CLIENT });
    const wrong = bearerToken.slice(0, -4) + (bearerToken.endsWith("AAAA") ? "BBBB" : "AAAA");
    await open("bad-token", "/", wrong, async (page) => {
      const problem = page.locator("form.login .problem");
      await problem.waitFor();
      expect(await problem.textContent()).toMatch(/The server refused the token: the server does not know this token/);
      expect(await page.locator("form.login input[name=token]").count()).toBe(1);
    });
  });
});
