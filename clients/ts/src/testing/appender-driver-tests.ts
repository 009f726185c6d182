import { createServer, connect, type Socket } from "node:net";
import { expect, it } from "vitest";
import { createOmaClient } from "../node.js";
import { startDriver, type LanguageDriver } from "./language-driver-tests.js";
import type { ServerProcess } from "./server-process.js";

/** One "acked I SEQ0 SEQ1 DUPLICATE" line of a driver: append I (events append-I-0, append-I-1) stored at SEQ0, SEQ1. */
interface Ack {
  readonly i: number;
  readonly seqs: readonly [number, number];
  readonly duplicate: boolean;
}

function acksOf(lines: readonly string[]): Ack[] {
  return lines.filter((l) => l.startsWith("acked ")).map((l) => {
    const [, i, s0, s1, duplicate] = l.split(" ");
    return { i: Number(i), seqs: [Number(s0), Number(s1)], duplicate: duplicate === "true" };
  });
}

/**
 * A TCP proxy to the server that can stop passing the server's bytes back to the client:
 * appends still reach the server and are written, their acknowledgements are lost.
 */
async function ackHoldingProxy(serverPort: () => number) {
  let holding = false;
  const open = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(serverPort(), "127.0.0.1");
    const end = () => {
      for (const s of [client, upstream]) {
        open.delete(s);
        s.destroy();
      }
    };
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("error", end).on("close", end);
    }
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d) => {
      if (!holding) client.write(d);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    port: (proxy.address() as { port: number }).port,
    hold: (on: boolean) => void (holding = on),
    close: () => {
      for (const s of open) s.destroy();
      return new Promise((resolve) => proxy.close(resolve));
    },
  };
}

/**
 * The promises of a client's Appender (SESS-22), against the reference server as a process:
 * appends made at once are acknowledged each with its own batch at gapless seqs; a refused
 * append fails with the server's reason while the others stand; appends written but left
 * unacknowledged by a server crash are stored exactly once after the resend (SESS-3). The driver makes
 * each append a batch of two custom events, "append-I-0" and "append-I-1". Call inside a
 * describe whose beforeAll starts the server.
 */
export function appenderPromiseTests(driver: LanguageDriver, server: () => ServerProcess): void {
  const newSession = async (kind: string) => {
    const oma = createOmaClient({ baseUrl: server().url, token: server().token });
    const id = `xlang-append-${kind}-${driver.language}-${process.pid}-${Date.now()}`;
    await oma.sessions.createSession({ sessionId: id, agent: { model: "scripted" } });
    const head = Number((await oma.sessions.emit(id, { case: "custom", value: { type: "first" } })).event!.seq);
    return { id, head, addr: `127.0.0.1:${server().port}` };
  };
  /** The types of the events after `head`, by seq (checked gapless). */
  const typesAfter = async (id: string, head: number) => {
    const oma = createOmaClient({ baseUrl: server().url, token: server().token });
    const types = new Map<number, string>();
    for (let after = head; ; ) {
      const { events } = await oma.sessions.getEvents({ sessionId: id, afterSeq: BigInt(after), limit: 1000 });
      if (events.length === 0) break;
      for (const e of events) {
        expect(Number(e.seq)).toBe(after + 1);
        after = Number(e.seq);
        types.set(after, e.payload.case === "custom" ? e.payload.value.type : String(e.payload.case));
      }
    }
    return types;
  };
  const run = async (args: string[], during?: (d: ReturnType<typeof startDriver>) => Promise<void>) => {
    const d = startDriver(driver, server().token, args);
    try {
      await during?.(d);
      expect(await d.exit(), d.stderr()).toBe(0);
    } finally {
      d.child.kill("SIGKILL");
    }
    return d;
  };
  /** Every ack's seqs hold its own batch, and the log after `head` is exactly the acked appends. */
  const expectLogToBe = (types: Map<number, string>, acks: Ack[]) => {
    for (const { i, seqs } of acks) expect([types.get(seqs[0]), types.get(seqs[1])]).toEqual([`append-${i}-0`, `append-${i}-1`]);
    expect(types.size).toBe(2 * acks.length);
  };
  const noneDuplicate = (acks: Ack[]) => expect(acks.filter((a) => a.duplicate)).toEqual([]);

  it(`${driver.language}: appends made at once over one Appender are acknowledged each with its own batch, at gapless seqs (SESS-22)`, async () => {
    const { id, head, addr } = await newSession("order");
    const d = await run(["--addr", addr, "--session", id, "--appends", "40"]);
    const acks = acksOf(d.out);
    expect(acks.map((a) => a.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(acks.flatMap((a) => a.seqs).sort((a, b) => a - b)).toEqual(Array.from({ length: 80 }, (_, n) => head + 1 + n));
    noneDuplicate(acks);
    expectLogToBe(await typesAfter(id, head), acks);
    // Over the stream: nothing was sent again.
    expect(d.stderr()).not.toMatch(/# resend/);
  });

  it(`${driver.language}: a refused append fails with the server's reason; the appends beside it are stored once (SESS-22, SESS-2)`, async () => {
    const { id, head, addr } = await newSession("refused");
    const d = await run(["--addr", addr, "--session", id, "--append-refused"]);
    const refused = d.out.filter((l) => l.startsWith("refused "));
    expect(refused).toHaveLength(1);
    const [, reason, code] = refused[0]!.split(" ");
    expect(reason).toBe("HEAD_SEQ_MISMATCH");
    expect(code!.replaceAll("_", "").toLowerCase()).toBe("failedprecondition");
    const acks = acksOf(d.out);
    expect(acks.map((a) => a.i).sort()).toEqual([0, 1, 2, 3, 4, 6]);
    expectLogToBe(await typesAfter(id, head), acks);
  });

  it(`${driver.language}: appends written but not acknowledged when the server crashes are each stored exactly once after the resend (SESS-22, SESS-3)`, async () => {
    const { id, head } = await newSession("crash");
    const proxy = await ackHoldingProxy(() => server().port);
    try {
      const d = await run(["--addr", `127.0.0.1:${proxy.port}`, "--session", id, "--append-across-break"], async (d) => {
        await expect.poll(() => d.out.includes("paused"), { timeout: 30_000 }).toBe(true);
        // Appends 20-35 go out after the acknowledgements stop coming back: once all of them
        // are written, the server crashes with none of them acknowledged.
        proxy.hold(true);
        d.child.stdin.write("go\n");
        await expect.poll(async () => (await typesAfter(id, head)).size, { timeout: 30_000 }).toBe(2 * 36);
        await server().kill();
        proxy.hold(false);
        await server().restart();
      });
      expect(d.out.at(-1)).toBe("total 56");
      // One stream break, with the 16 unanswered appends sent again, each a duplicate of itself.
      expect(d.stderr()).toMatch(/^# resend 16 [^\n]*\n$/);
      const acks = acksOf(d.out);
      expect(acks.map((a) => a.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 56 }, (_, i) => i));
      expect(acks.filter((a) => a.duplicate).map((a) => a.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, n) => 20 + n));
      expectLogToBe(await typesAfter(id, head), acks);
    } finally {
      await proxy.close();
    }
  });
}
