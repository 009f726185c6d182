#!/usr/bin/env python3
"""Creates a session on an OMA server, sends a user message, wakes a brain and prints the
session's events until it goes idle.

    python3 examples/run_session.py --addr 127.0.0.1:7070 --message "Say hello."
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from google.protobuf import json_format  # noqa: E402

from oma_client import OmaClient, OmaRpcError, user_text  # noqa: E402
from oma.v1 import harness_service_pb2, session_pb2, session_service_pb2  # noqa: E402


def describe(event) -> str:
    kind = event.WhichOneof("payload")
    body = json_format.MessageToJson(getattr(event, kind), indent=None) if kind else ""
    return f"{event.seq} {kind} {body}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default=os.environ.get("OMA_ADDR", "127.0.0.1:7070"), help="server host:port (env OMA_ADDR)")
    parser.add_argument("--token", default=os.environ.get("OMA_TOKEN"), help="bearer token (env OMA_TOKEN)")
    parser.add_argument("--model", default="claude-sonnet-4-5", help="model of the agent")
    parser.add_argument("--message", default="Say hello.", help="the user message")
    args = parser.parse_args()

    with OmaClient(args.addr, token=args.token) as oma:
        try:
            created = oma.sessions.CreateSession(session_service_pb2.CreateSessionRequest(agent=session_pb2.AgentConfig(model=args.model)))
            session_id = created.session.session_id
            print(f"session {session_id}", flush=True)
            sent = oma.emit(session_id, user_text(args.message))
            oma.harness.Wake(harness_service_pb2.WakeRequest(session_id=session_id))
            for event in oma.watch(session_id):
                print(describe(event), flush=True)
                status = event.status_changed.status if event.WhichOneof("payload") == "status_changed" else None
                if status == session_pb2.SESSION_STATUS_IDLE and event.seq > sent.event.seq:
                    return 0
        except OmaRpcError as err:
            print(f"run_session: {err} (reason {err.reason or '-'})", file=sys.stderr)
            return 1
        except Exception as err:  # a raw stub call (grpc.RpcError) or anything else
            print(f"run_session: {err}", file=sys.stderr)
            return 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
