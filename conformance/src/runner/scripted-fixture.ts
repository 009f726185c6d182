import { startScriptedModel, type RecordedRequest, type Responder, type ScriptedModel } from "../scripted-model/index.js";
import type { HarnessFixture, WorkerHandle } from "./harness-fixture.js";

export interface ScriptedFixture extends HarnessFixture {
  readonly model: ScriptedModel;
  close(): Promise<void>;
}

/**
 * Starts the scripted model with one responder per model name. A request for a model no
 * case scripted gets a plain end_turn text, so stray wakes never hang a brain.
 */
export async function startScriptedFixture(startWorker?: () => Promise<WorkerHandle>): Promise<ScriptedFixture> {
  const responders = new Map<string, Responder>();
  const model = await startScriptedModel({
    script: (req) => responders.get(req.body.model)?.(req) ?? { content: [{ type: "text", text: "unscripted" }] },
  });
  return {
    model,
    modelUrl: model.url,
    script: (name, responder) => void responders.set(name, responder),
    requests: (name): RecordedRequest[] => model.requests.filter((r) => r.body.model === name),
    ...(startWorker ? { startWorker } : {}),
    close: () => model.close(),
  };
}
