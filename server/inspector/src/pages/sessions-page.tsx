import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { OmaClient } from "@oma/client";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { Problem, StatusBadge } from "../components/status.js";
import { ago, clockOf } from "../format.js";
import { follow, sessionPath } from "../router.js";

const STATUSES = [SessionStatus.UNSPECIFIED, SessionStatus.IDLE, SessionStatus.RUNNING, SessionStatus.RESCHEDULING, SessionStatus.TERMINATED];
const PAGE_SIZE = 50;

/** "a=b, c=d" → { a: "b", c: "d" }; malformed pairs are reported. */
function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) return `"${part}" is not key=value`;
    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return labels;
}

/** Every session of the tenant: status, labels, head seq, last activity; filtered and paged. */
export function SessionsPage(props: { client: OmaClient }) {
  const [status, setStatus] = useState(SessionStatus.UNSPECIFIED);
  const [labelText, setLabelText] = useState("");
  const [pages, setPages] = useState<string[]>([""]);
  const [result, setResult] = useState<{ sessions: Session[]; next: string } | undefined>();
  const [problem, setProblem] = useState("");
  const pageToken = pages.at(-1)!;
  const labels = parseLabels(labelText);

  useEffect(() => {
    if (typeof labels === "string") return;
    let live = true;
    setProblem("");
    props.client.sessions
      .listSessions({ pageSize: PAGE_SIZE, pageToken, status, labels })
      .then((r) => live && setResult({ sessions: r.sessions, next: r.nextPageToken }))
      .catch((err: unknown) => live && setProblem(describeError(err)));
    return () => {
      live = false;
    };
  }, [props.client, status, JSON.stringify(labels), pageToken]);

  return (
    <section>
      <h2>Sessions</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status{" "}
          <select name="status" value={status} onChange={(e) => { setStatus(Number((e.target as HTMLSelectElement).value)); setPages([""]); }}>
            {STATUSES.map((s) => (
              <option value={s}>{s === SessionStatus.UNSPECIFIED ? "any" : SessionStatus[s]!.toLowerCase()}</option>
            ))}
          </select>
        </label>
        <label>
          Labels <input name="labels" placeholder="key=value, …" value={labelText} onChange={(e) => { setLabelText((e.target as HTMLInputElement).value); setPages([""]); }} />
        </label>
        {typeof labels === "string" ? <span class="problem">{labels}</span> : null}
      </form>
      {problem ? <Problem text={problem} /> : null}
      {result ? (
        result.sessions.length === 0 ? (
          <p class="empty">No sessions{pageToken ? " on this page" : ""}.</p>
        ) : (
          <table class="sessions">
            <thead>
              <tr><th>Session</th><th>Status</th><th>Labels</th><th class="num">Head seq</th><th>Last activity</th><th>Created</th></tr>
            </thead>
            <tbody>
              {result.sessions.map((s) => (
                <tr data-session={s.sessionId}>
                  <td><a href={sessionPath(s.sessionId)} onClick={follow}>{s.sessionId}</a></td>
                  <td><StatusBadge status={s.status} /></td>
                  <td class="labels">{Object.entries(s.labels).map(([k, v]) => <span class="label">{k}={v}</span>)}</td>
                  <td class="num">{String(s.headSeq)}</td>
                  <td title={clockOf(s.updateTime)}>{s.updateTime ? ago(timestampMs(s.updateTime)) : ""}</td>
                  <td>{clockOf(s.createTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : problem ? null : (
        <p class="loading">Loading…</p>
      )}
      <nav class="pager">
        <button type="button" disabled={pages.length < 2} onClick={() => setPages(pages.slice(0, -1))}>Previous</button>
        <button type="button" disabled={!result?.next} onClick={() => result?.next && setPages([...pages, result.next])}>Next</button>
      </nav>
    </section>
  );
}
