// The scripted model: a local Anthropic Messages API server driven by a script.
export { startScriptedModel, MAX_REQUEST_BYTES, type ContextWindow, type ScriptedModel, type ScriptedModelOptions } from "./server.js";
export { PromptCache, countTokens, promptTokens, type InputUsage } from "./prompt-cache.js";
export { byStep, bySteps, stepOf, stepToolUseId, isSummaryRequest, assistantTurns, firstUserText, lastUserText, lastToolResults } from "./scripts.js";
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
