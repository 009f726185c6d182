import { useState } from "preact/hooks";
import type { Login } from "../login.js";

/** Asks for a token (and, for an admin, the tenant to look at). */
export function LoginForm(props: { onLogin: (login: Login) => void; problem?: string }) {
  const [token, setToken] = useState("");
  const [tenant, setTenant] = useState("");
  return (
    <form
      class="login"
      onSubmit={(e) => {
        e.preventDefault();
        if (token.trim()) props.onLogin({ token: token.trim(), ...(tenant.trim() ? { tenant: tenant.trim() } : {}) });
      }}
    >
      <h1>OMA inspector</h1>
      {props.problem ? <p class="problem" role="alert">{props.problem}</p> : <p>Log in with a bearer token. <code>oma inspect</code> prints a link that logs in with the admin token.</p>}
      <label>
        Token <input name="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Tenant (admin tokens only; empty for the token's own) <input name="tenant" value={tenant} onInput={(e) => setTenant((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Log in</button>
    </form>
  );
}
