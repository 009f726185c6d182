/** What the inspector calls the API with: a bearer token, and for an admin the tenant to act in. */
export interface Login {
  readonly token: string;
  readonly tenant?: string;
}

const KEY = "oma.inspector.login";

/**
 * The login: a link's `#token=…[&tenant=…]` wins (it is then removed from the address bar
 * and the history, so it is not left on screen or in a bookmark), else the one kept for
 * this tab (sessionStorage: gone when the tab closes).
 */
export function readLogin(): Login | undefined {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token) {
    saveLogin({ token, ...(params.get("tenant") ? { tenant: params.get("tenant")! } : {}) });
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  const stored = sessionStorage.getItem(KEY);
  if (!stored) return undefined;
  try {
    const login = JSON.parse(stored) as Login;
    return typeof login.token === "string" && login.token ? login : undefined;
  } catch {
    return undefined;
  }
}

export function saveLogin(login: Login): void {
  sessionStorage.setItem(KEY, JSON.stringify(login));
}

export function clearLogin(): void {
  sessionStorage.removeItem(KEY);
}
