import { randomUUID } from "node:crypto";
import { describe, inject } from "vitest";
import { natsUnavailable } from "../../testing/nats-cluster.js";
import { describeSessionStoreContract } from "../session-store.contract.js";
import { describeSharedStoreContract } from "../shared-store.contract.js";
import { JetStreamSessionStore } from "./jetstream-session-store.js";

// The run's shared 3-node cluster (R3 streams), started by nats-global-setup.ts.
const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the JetStream session store tests: ${unavailable}`);
const cluster = { url: inject("natsUrl") };

describe.skipIf(unavailable !== undefined)("JetStream session store on a 3-node cluster", () => {
  // Each test its own stream, so listings see only its sessions.
  const fresh = () => ({ stream: `S_${randomUUID().replaceAll("-", "")}`, subjectPrefix: `s${randomUUID().replaceAll("-", "")}` });

  describeSessionStoreContract("JetStream R3", async () => {
    let now = Date.now();
    const store = await JetStreamSessionStore.open(cluster.url, { ...fresh(), now: () => now });
    return { store, advance: (ms) => (now += ms), close: () => store.close() };
  });

  describeSharedStoreContract("JetStream R3, two connections", async () => {
    let now = Date.now();
    const where = fresh();
    const a = await JetStreamSessionStore.open(cluster.url, { ...where, now: () => now });
    const b = await JetStreamSessionStore.open(cluster.url, { ...where, now: () => now, maxCachedSessions: 2 });
    return { a, b, advance: (ms) => (now += ms), close: async () => void (await Promise.all([a.close(), b.close()])) };
  });
});
