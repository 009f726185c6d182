import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { natsUnavailable } from "../testing/nats-cluster.js";
import { tempLevel } from "../testing/temp-level.js";
import { JetStreamTokenStore } from "./jetstream-token-store.js";
import { LevelTokenStore } from "./level-token-store.js";
import { MemoryTokenStore } from "./memory-token-store.js";
import { describeSharedTokenStoreContract, describeTokenStoreContract } from "./token-store.contract.js";

describeTokenStoreContract("memory", async () => {
  const store = new MemoryTokenStore();
  return { store, close: () => store.close() };
});

describeTokenStoreContract("LevelDB", async () => {
  const level = await tempLevel("oma-tokens-");
  const store = new LevelTokenStore(level.db);
  return {
    store,
    async close() {
      await store.close();
      await level.remove();
    },
  };
});

// The run's shared 3-node cluster (R3 buckets), started by nats-global-setup.ts; each test a bucket of its own.
const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the JetStream token store tests: ${unavailable}`);
if (!unavailable) {
  const url = inject("natsUrl");
  const openShared = async (n: number) => {
    const bucket = `T_${randomUUID().replaceAll("-", "")}`;
    // The first creates the bucket; the others open it (two creates of one stream at once can cost one a 5 s request timeout on nats-server 2.9).
    const first = await JetStreamTokenStore.open(url, { bucket });
    const stores = [first, ...(await Promise.all(Array.from({ length: n - 1 }, () => JetStreamTokenStore.open(url, { bucket }))))];
    return { stores, close: async () => void (await Promise.all(stores.map((s) => s.close()))) };
  };
  describeTokenStoreContract("JetStream KV, R3", async () => {
    const { stores, close } = await openShared(1);
    return { store: stores[0]!, close };
  });
  describeSharedTokenStoreContract("JetStream KV, R3", openShared);
}
