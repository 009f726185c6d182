// Broken variants of durability: defects that only a kill -9 shows, so each is served as a
// process of its own and the suite's restarts SIGKILL it.
import type { SessionStorage } from "../../server/src/store/session-storage.js";
import type { BrokenVariant } from "./variant-kit.js";

/** A storage whose writes report success at once and reach the disk afterwards. */
function acknowledgesBeforeDurable(real: SessionStorage): SessionStorage {
  return new Proxy(real, {
    get(target, property) {
      if (property === "write") {
        // Every write reported applied at the revision after its base, before it is.
        return (writes: Parameters<SessionStorage["write"]>[0]) => (
          void target.write(writes).catch(() => undefined), Promise.resolve(writes.map((w) => ({ ok: true as const, revision: w.base + 1 })))
        );
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export const durabilityVariants: readonly BrokenVariant[] = [
  {
    name: "acknowledges appends before they are durable",
    breaks: ["SESS-5"],
    profile: ["SESS-5"],
    // The storage delay hook holds each write 200 ms: an acknowledged append then stays
    // off the disk long enough for the kill that follows the first acknowledgement.
    ownProcess: { storageDelayMs: 200 },
    storage: acknowledgesBeforeDurable,
  },
];
