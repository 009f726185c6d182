import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { natsUnavailable } from "../testing/nats-cluster.js";
import { tempLevel } from "../testing/temp-level.js";
import { describeCredentialStoreContract, describeSharedCredentialStoreContract } from "./credential-store.contract.js";
import { JetStreamCredentialStore } from "./jetstream-credential-store.js";
import { LevelCredentialStore } from "./level-credential-store.js";
import { MemoryCredentialStore } from "./memory-credential-store.js";

describeCredentialStoreContract("LevelDB", async () => {
  const level = await tempLevel("oma-vault-store-");
  const store = new LevelCredentialStore(level.db);
  return {
    store,
    async close() {
      await store.close();
      await level.remove();
    },
  };
});

describeCredentialStoreContract("memory", async () => {
  const store = new MemoryCredentialStore();
  return { store, close: () => store.close() };
});

// The run's shared 3-node cluster (R3 buckets), started by nats-global-setup.ts; each test a bucket of its own.
const unavailable = natsUnavailable();
if (unavailable) console.warn(`!!! SKIPPED the JetStream credential store tests: ${unavailable}`);
if (!unavailable) {
  const url = inject("natsUrl");
  const openShared = async (n: number) => {
    const bucket = `V_${randomUUID().replaceAll("-", "")}`;
    // The first creates the bucket; the others open it (two creates of one stream at once can cost one a 5 s request timeout on nats-server 2.9).
    const first = await JetStreamCredentialStore.open(url, { bucket });
    const stores = [first, ...(await Promise.all(Array.from({ length: n - 1 }, () => JetStreamCredentialStore.open(url, { bucket }))))];
    return { stores, close: async () => void (await Promise.all(stores.map((s) => s.close()))) };
  };
  describeCredentialStoreContract("JetStream KV, R3", async () => {
    const { stores, close } = await openShared(1);
    return { store: stores[0]!, close };
  });
  describeSharedCredentialStoreContract("JetStream KV, R3", openShared);
}
