#!/usr/bin/env python3
"""Prints a session's events as "seq kind" lines, resuming by itself across server restarts.

    python3 examples/tail_session.py SESSION_ID [--after SEQ] [--until SEQ]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from oma_client import Backoff, OmaClient, OmaRpcError  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("session_id")
    parser.add_argument("--addr", default=os.environ.get("OMA_ADDR", "127.0.0.1:7070"), help="server host:port (env OMA_ADDR)")
    parser.add_argument("--token", default=os.environ.get("OMA_TOKEN"))
    parser.add_argument("--after", type=int, default=0, help="start after this seq")
    parser.add_argument("--until", type=int, default=0, help="exit after printing this seq (0: never)")
    args = parser.parse_args()
    on_reconnect = lambda attempt, after, cause: print(f"# reconnect {attempt} after {after}", file=sys.stderr, flush=True)  # noqa: E731
    with OmaClient(args.addr, token=args.token) as oma:
        try:
            for event in oma.watch(args.session_id, after_seq=args.after, backoff=Backoff(initial_s=0.05, max_s=0.5), on_reconnect=on_reconnect):
                print(f"{event.seq} {event.WhichOneof('payload')}", flush=True)
                if args.until and event.seq >= args.until:
                    return 0
        except OmaRpcError as err:
            print(f"tail_session: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
