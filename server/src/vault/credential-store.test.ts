import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import type { Db } from "../part.js";
import { tempDir } from "../testing/temp-dir.js";
import { describeCredentialStoreContract } from "./credential-store.contract.js";
import { LevelCredentialStore } from "./level-credential-store.js";
import { MemoryCredentialStore } from "./memory-credential-store.js";

describeCredentialStoreContract("LevelDB", async () => {
  const dir = await tempDir("oma-vault-store-");
  const db: Db = new ClassicLevel<string, Uint8Array>(join(dir.path, "leveldb"), { valueEncoding: "view" });
  await db.open();
  const store = new LevelCredentialStore(db);
  return {
    store,
    async close() {
      await store.close();
      await db.close();
      await dir.remove();
    },
  };
});

describeCredentialStoreContract("memory", async () => {
  const store = new MemoryCredentialStore();
  return { store, close: () => store.close() };
});
