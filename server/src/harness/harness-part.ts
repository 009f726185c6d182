import type { SessionTokens } from "../auth/session-token.js";
import { defaultLimits } from "../limits.js";
import type { Logger } from "../logger.js";
import type { Paging } from "../rpc/paging.js";
import type { ServerPart } from "../part.js";
import type { SessionStore } from "../store/session-store.js";
import { HarnessDispatcher } from "./dispatcher.js";
import type { HarnessOptions } from "./harness-options.js";
import { createHarnessService, harnessValidators } from "./harness-service.js";

/** The features the harness part claims (SPEC §3). */
export const HARNESS_FEATURES = ["harness.core", "harness.auto_rewake", "harness.context"] as const;

/** HarnessService on the session store: dispatch to workers and automatic re-wake. */
export async function openHarnessPart(deps: {
  store: SessionStore;
  logger: Logger;
  paging: Paging;
  options?: Partial<HarnessOptions>;
  /** Issues each assignment's session token; undefined when calls are not authenticated. */
  sessionTokens?: SessionTokens;
  sessionTokenGraceMs?: number;
  /** Other servers share the session store (JetStream): the dispatcher watches their brains too. */
  sharedStore?: boolean;
}): Promise<ServerPart & { readonly dispatcher: HarnessDispatcher }> {
  const dispatcher = new HarnessDispatcher({ store: deps.store, logger: deps.logger.child({ part: "harness" }), options: deps.options, sharedStore: deps.sharedStore ?? false });
  await dispatcher.start();
  return {
    service: {
      handlers: createHarnessService({ dispatcher, paging: deps.paging, sessionTokens: deps.sessionTokens, sessionTokenGraceMs: deps.sessionTokenGraceMs ?? defaultLimits.sessionTokenGraceMs }),
      validators: harnessValidators(dispatcher.options.maxWorkerCapacity),
    },
    features: dispatcher.options.autoRewake ? [...HARNESS_FEATURES] : ["harness.core", "harness.context"],
    dispatcher,
    close: () => dispatcher.close(),
  };
}
