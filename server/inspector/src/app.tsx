import type { GetServerInfoResponse } from "@oma/client/gen/oma/v1/server_info_service_pb.js";
import { useEffect, useMemo, useState } from "preact/hooks";
import { clientFor, describeError, isBadToken } from "./api.js";
import { LoginForm } from "./components/login-form.js";
import { clearLogin, readLogin, saveLogin, type Login } from "./login.js";
import { FleetPage } from "./pages/fleet-page.js";
import { SessionPage } from "./pages/session-page.js";
import { SessionsPage } from "./pages/sessions-page.js";
import { follow, usePath } from "./router.js";

/**
 * The inspector: a client of the public API from the browser, with the token it was given.
 * It shows what that token may see, nothing more: another tenant's sessions do not exist.
 */
export function App() {
  const [login, setLogin] = useState<Login | undefined>(() => readLogin());
  const [problem, setProblem] = useState("");
  const [info, setInfo] = useState<GetServerInfoResponse | undefined>();
  const path = usePath();
  const client = useMemo(() => (login ? clientFor(login) : undefined), [login]);

  // A token the server refuses is said at once, with what to do about it.
  useEffect(() => {
    if (!client) return;
    let live = true;
    client.sessions.listSessions({ pageSize: 1 }).then(
      () => client.serverInfo.getServerInfo({}).then((i) => live && setInfo(i)),
      (err: unknown) => {
        if (!live) return;
        if (isBadToken(err)) {
          clearLogin();
          setLogin(undefined);
        }
        setProblem(describeError(err));
      },
    );
    return () => {
      live = false;
    };
  }, [client]);

  if (!login || !client) {
    return (
      <LoginForm
        problem={problem}
        onLogin={(l) => {
          saveLogin(l);
          setProblem("");
          setLogin(l);
        }}
      />
    );
  }
  const session = /^\/sessions\/([^/]+)$/.exec(path);
  return (
    <>
      <header>
        <a class="home" href="/" onClick={follow}>OMA inspector</a>
        <nav>
          <a href="/" onClick={follow} class={path === "/" ? "here" : ""}>Sessions</a>
          <a href="/fleet" onClick={follow} class={path === "/fleet" ? "here" : ""}>Brains and sandboxes</a>
        </nav>
        <span class="who">
          {login.tenant ? `tenant ${login.tenant} · ` : ""}
          {info ? `${info.implementation} ${info.version}` : ""}
          <button
            type="button"
            onClick={() => {
              clearLogin();
              setLogin(undefined);
            }}
          >
            Log out
          </button>
        </span>
      </header>
      <main>
        {problem ? <p class="problem" role="alert">{problem}</p> : null}
        {session ? <SessionPage client={client} sessionId={decodeURIComponent(session[1]!)} /> : path === "/fleet" ? <FleetPage client={client} /> : <SessionsPage client={client} />}
      </main>
    </>
  );
}
