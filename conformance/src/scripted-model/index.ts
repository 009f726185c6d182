// The scripted model: a local Anthropic Messages API server driven by a script.
export { startScriptedModel, MAX_REQUEST_BYTES, type ScriptedModel, type ScriptedModelOptions } from "./server.js";
export { PromptCache, countTokens, type InputUsage } from "./prompt-cache.js";
export { byStep, assistantTurns, lastUserText, lastToolResults } from "./scripts.js";
export type {
  ScriptedBlock,
  ScriptedLatency,
  ScriptedMessage,
  ScriptedError,
  ScriptedDisconnect,
  ScriptedResponse,
  RecordedRequest,
  MessagesRequestBody,
  Responder,
} from "./types.js";
