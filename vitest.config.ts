import { defineConfig } from "vitest/config";

// One run over every workspace. Tests that start servers use port 0 and unique ids, so
// files run in parallel; each wait inside a test is bounded by its own timeout.
export default defineConfig({
  test: {
    include: ["clients/ts/src/**/*.test.ts", "server/src/**/*.test.ts", "server/inspector/src/**/*.test.ts", "conformance/{src,test}/**/*.test.ts", "bench/**/*.test.ts", "chaos/src/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    pool: "forks",
    // A NATS JetStream cluster the JetStream store tests share (server/src/testing/nats-global-setup.ts).
    globalSetup: ["server/src/testing/nats-global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
