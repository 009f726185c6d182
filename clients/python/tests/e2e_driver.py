#!/usr/bin/env python3
"""Driven by clients/ts/src/testing/language-driver-tests.ts against a real server:

1. emits one event through a channel that loses the first acknowledgement (the server has
   stored the event; the client sees UNAVAILABLE) and prints "emitted SEQ DUPLICATE ATTEMPTS";
2. watches the session from seq 0 and prints "event SEQ" per event until --until, while
   the test kills and restarts the server ("# reconnect" lines go to stderr).

With --appends N, --append-refused or --append-across-break it only appends over an
Appender (see e2e_appends.py).

With --emit-only TYPE it only emits one custom event (the test starts it while the server
is down) and prints "emitted SEQ". With --watch-slow it only watches, and after the first
event stops reading until a line arrives on stdin, so the server finds it too slow.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import grpc  # noqa: E402

from oma_client import Backoff, OmaClient, reason_of  # noqa: E402
from oma_client.client import CHANNEL_OPTIONS  # noqa: E402
from oma.v1 import event_pb2  # noqa: E402

import e2e_appends  # noqa: E402


class LostAck(grpc.RpcError, grpc.Call):
    """A failed call as gRPC reports one: an RpcError that is also its Call, so an
    interceptor further out (the client's bearer token) can read its outcome."""

    def result(self, timeout=None):
        raise self

    def exception(self, timeout=None):
        return self

    def traceback(self, timeout=None):
        return None

    def add_done_callback(self, fn):
        fn(self)

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False

    def initial_metadata(self):
        return ()

    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "acknowledgement lost on the way back"

    def trailing_metadata(self):
        return ()


class LoseFirstAck(grpc.UnaryUnaryClientInterceptor):
    def __init__(self):
        self.emit_calls = 0

    def intercept_unary_unary(self, continuation, details, request):
        outcome = continuation(details, request)
        if details.method.endswith("/EmitEvent"):
            self.emit_calls += 1
            if self.emit_calls == 1:
                outcome.result()  # the server has answered: the event is stored
                raise LostAck()
        return outcome


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--until", type=int, default=0)
    parser.add_argument("--emit-only", default="")
    parser.add_argument("--watch-slow", action="store_true")
    parser.add_argument("--appends", type=int, default=0)
    parser.add_argument("--append-refused", action="store_true")
    parser.add_argument("--append-across-break", action="store_true")
    args = parser.parse_args()
    token = os.environ.get("OMA_TOKEN")
    fast = Backoff(initial_s=0.02, max_s=0.2)

    if args.appends or args.append_refused or args.append_across_break:
        with OmaClient(args.addr, token=token) as oma:
            if args.appends:
                e2e_appends.appends_at_once(oma, args.session, args.appends)
            elif args.append_refused:
                e2e_appends.appends_with_a_refusal(oma, args.session)
            else:
                e2e_appends.appends_across_a_break(oma, args.session)
        return 0

    if args.emit_only:
        with OmaClient(args.addr, token=token) as oma:
            print("emitting", flush=True)
            res = oma.emit(args.session, event_pb2.Event(custom=event_pb2.CustomEvent(type=args.emit_only)), max_attempts=1000, backoff=fast)
            print(f"emitted {res.event.seq}", flush=True)
            return 0

    on_reconnect = lambda attempt, after, cause: print(f"# reconnect {attempt} after {after} {reason_of(cause) if cause else ''}", file=sys.stderr, flush=True)  # noqa: E731
    if args.watch_slow:
        # Without BDP probing gRPC keeps its receive window small, so a reader that stops
        # backs up the server's queue instead of gRPC buffering megabytes ahead of it.
        small_window = list(CHANNEL_OPTIONS) + [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 65536)]
        with OmaClient(channel=grpc.insecure_channel(args.addr, small_window), token=token) as oma:
            for event in oma.watch(args.session, backoff=fast, on_reconnect=on_reconnect):
                print(f"event {event.seq}", flush=True)
                if event.seq == 1:
                    sys.stdin.readline()
                if event.seq >= args.until:
                    return 0
        return 1

    lose = LoseFirstAck()
    with OmaClient(channel=grpc.intercept_channel(grpc.insecure_channel(args.addr, CHANNEL_OPTIONS), lose), token=token) as oma:
        res = oma.emit(args.session, event_pb2.Event(custom=event_pb2.CustomEvent(type="driver-emit")), backoff=fast)
        print(f"emitted {res.event.seq} {str(res.duplicate).lower()} {lose.emit_calls}", flush=True)

    with OmaClient(args.addr, token=token) as oma:
        for event in oma.watch(args.session, backoff=fast, on_reconnect=on_reconnect):
            print(f"event {event.seq}", flush=True)
            if event.seq >= args.until:
                return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
