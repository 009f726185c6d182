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
export const CONFORMANCE_MODEL_KEY = "oma-conformance-model-key-7d3f";

export async function startScriptedFixture(startWorker?: (workerId: string) => Promise<WorkerHandle>): Promise<ScriptedFixture> {
  const responders = new Map<string, Responder>();
  const windows = new Map<string, number>();
  const workers = new Map<string, WorkerHandle>();
  const model = await startScriptedModel({
    script: (req) => responders.get(req.body.model)?.(req) ?? { content: [{ type: "text", text: "unscripted" }] },
    contextWindow: (body) => windows.get(body.model),
  });
  return {
    model,
    modelUrl: model.url,
    apiKey: CONFORMANCE_MODEL_KEY,
    script: (name, responder, options) => {
      responders.set(name, responder);
      if (options?.contextWindow !== undefined) windows.set(name, options.contextWindow);
    },
    requests: (name): RecordedRequest[] => model.requests.filter((r) => r.body.model === name),
    ...(startWorker
      ? {
          startWorker: async (id: string) => {
            const w = await startWorker(id);
            workers.set(id, w);
            return w;
          },
        }
      : {}),
    async killWorker(id) {
      const w = workers.get(id);
      if (!w) return false;
      workers.delete(id);
      await w.kill();
      return true;
    },
    async close() {
      await Promise.all([...workers.values()].map((w) => w.kill()));
      await model.close();
    },
  };
}
