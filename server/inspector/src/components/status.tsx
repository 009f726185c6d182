import { SessionStatus } from "@oma/client/gen/oma/v1/session_pb.js";
import { SandboxState } from "@oma/client/gen/oma/v1/sandbox_pb.js";

export function statusLabel(s: SessionStatus): string {
  return (SessionStatus[s] ?? "UNSPECIFIED").toLowerCase();
}

export function StatusBadge(props: { status: SessionStatus }) {
  const name = statusLabel(props.status);
  return <span class={`badge status-${name}`}>{name}</span>;
}

export function SandboxStateBadge(props: { state: SandboxState }) {
  const name = (SandboxState[props.state] ?? "UNSPECIFIED").toLowerCase();
  return <span class={`badge sandbox-${name}`}>{name}</span>;
}

/** A problem message, shown where the page would be. */
export function Problem(props: { text: string }) {
  return (
    <p class="problem" role="alert">
      {props.text}
    </p>
  );
}
