import type { DescMethod } from "@bufbuild/protobuf";

const names = new WeakMap<DescMethod, string>();

/**
 * A method's procedure name, `oma.v1.SessionService/EmitEvent`: what the access policy,
 * errors, metrics and spans name a call by. Made once per method (the per-call paths ask
 * for it on every call).
 */
export function procedureName(method: DescMethod): string {
  let name = names.get(method);
  if (name === undefined) names.set(method, (name = `${method.parent.typeName}/${method.name}`));
  return name;
}
