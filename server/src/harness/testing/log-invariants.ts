import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import { fromInt64 } from "../int64.js";

/** Checks every invariant of a finished log; returns the tool_use ids. */
export function logInvariants(events: readonly Event[]): { toolUseIds: string[]; problems: string[] } {
  const problems: string[] = [];
  events.forEach((e, i) => {
    if (fromInt64(e.seq) !== i + 1) problems.push(`seq ${fromInt64(e.seq)} at position ${i + 1}`);
  });
  const uses = events.flatMap((e) => (e.payload.case === "toolUse" ? [e.payload.value.toolUseId] : []));
  if (new Set(uses).size !== uses.length) problems.push(`duplicate tool_use ids: ${uses.join(",")}`);
  for (const id of uses) {
    const results = events.filter((e) => (e.payload.case === "toolResult" || e.payload.case === "customToolResult") && e.payload.value.toolUseId === id);
    if (results.length !== 1) problems.push(`tool_use ${id} has ${results.length} results`);
  }
  return { toolUseIds: uses, problems };
}
