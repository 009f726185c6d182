import { tempLevel } from "../testing/temp-level.js";
import { describeCredentialStoreContract } from "./credential-store.contract.js";
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
