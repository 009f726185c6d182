import { MemorySessionStore } from "./memory-session-store.js";
import { describeSessionStoreContract } from "./session-store.contract.js";

describeSessionStoreContract("memory", async () => {
  let now = Date.now();
  const store = new MemorySessionStore({ now: () => now });
  return { store, advance: (ms) => (now += ms), close: () => store.close() };
});
