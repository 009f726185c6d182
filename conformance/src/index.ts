// The OMA conformance suite: the runner, its cases and the scripted model.
export { runSuite, RunBroken, type SuiteOptions } from "./runner/run-suite.js";
export { REPORT_VERSION, toJUnit, type SuiteReport, type SkippedFamily, type SuiteSummary } from "./runner/report.js";
export type { ConformanceCase, CaseContext, CaseResult, CaseStatus, Feature, Level } from "./runner/case.js";
export type { HarnessFixture, WorkerHandle } from "./runner/harness-fixture.js";
export { startScriptedFixture, type ScriptedFixture } from "./runner/scripted-fixture.js";
export { allCases } from "./cases/all-cases.js";
export { createRpcClient } from "./client/create-client.js";
export type { RpcClient, Protocol, CallOptions } from "./client/rpc-client.js";
export { RpcFailure } from "./client/rpc-failure.js";
export { SUITE_VERSION } from "./version.js";
