/**
 * A session's identity (SEC-10): its tenant and its id within that tenant. Ids are unique
 * per tenant only, so two tenants may each have a session "build-42" without either
 * seeing the other's.
 */
export interface SessionRef {
  readonly tenant: string;
  readonly sessionId: string;
}

/**
 * The store's key for a session: `<tenant>/<session id>`. Neither part may contain "/"
 * (WIRE-8 and the tenant grammar), so keys of different tenants never collide.
 */
export function sessionKey(ref: SessionRef): string {
  return `${ref.tenant}/${ref.sessionId}`;
}
