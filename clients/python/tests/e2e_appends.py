"""Appender modes of e2e_driver.py (see clients/ts/src/testing/appender-driver-tests.ts).

Each append is a batch of two custom events, "append-I-0" and "append-I-1"; each
acknowledgement prints "acked I SEQ0 SEQ1 DUPLICATE" after checking that it carries its own batch.
"""
import sys
from concurrent.futures import Future

import grpc

from oma_client import Backoff, OmaClient, OmaRpcError
from oma.v1 import event_pb2

_FAST = Backoff(initial_s=0.02, max_s=0.2)


def _batch(i: int):
    return [event_pb2.Event(custom=event_pb2.CustomEvent(type=f"append-{i}-{j}")) for j in (0, 1)]


def _print_resend(unanswered: int, cause: BaseException) -> None:
    why = cause.code().name if isinstance(cause, grpc.RpcError) else type(cause).__name__
    print(f"# resend {unanswered} {why}", file=sys.stderr, flush=True)


def _acked(i: int, future: "Future") -> None:
    ack = future.result()
    types = [e.custom.type for e in ack.events]
    if types != [f"append-{i}-0", f"append-{i}-1"]:
        raise AssertionError(f"append {i} acknowledged with another batch: {types}")
    print(f"acked {i} {ack.events[0].seq} {ack.events[1].seq} {str(ack.duplicate).lower()}", flush=True)


def appends_at_once(oma: OmaClient, session: str, n: int) -> None:
    """n appends submitted at once over one Appender."""
    with oma.open_appender(backoff=_FAST, max_attempts=1000, on_resend=_print_resend) as appender:
        futures = [appender.submit(session, _batch(i)) for i in range(n)]
        for i, future in enumerate(futures):
            _acked(i, future)


def appends_with_a_refusal(oma: OmaClient, session: str) -> None:
    """Five appends, one at a stale expected head, and one more, submitted at once; prints
    "refused REASON CODE" for the refused one."""
    with oma.open_appender(backoff=_FAST, max_attempts=1000, on_resend=_print_resend) as appender:
        futures = [appender.submit(session, _batch(i), expected_head_seq=0 if i == 5 else None) for i in range(7)]
        for i, future in enumerate(futures):
            if i != 5:
                _acked(i, future)
                continue
            err = future.exception()
            if not isinstance(err, OmaRpcError):
                raise AssertionError(f"append {i}: want an OmaRpcError, got {err!r}")
            print(f"refused {err.reason} {err.code().name}", flush=True)


def appends_across_a_break(oma: OmaClient, session: str) -> None:
    """Appends 0-19 at once, then prints "paused"; after a line on stdin (the test holds the
    acknowledgements back first, and kills and restarts the server once appends 20-35 are
    written) appends 20-35 at once, then 36-55; prints "total 56"."""
    with oma.open_appender(backoff=_FAST, max_attempts=1000, on_resend=_print_resend) as appender:
        def append_all(first: int, end: int) -> None:
            futures = [(i, appender.submit(session, _batch(i))) for i in range(first, end)]
            for i, future in futures:
                _acked(i, future)

        append_all(0, 20)
        print("paused", flush=True)
        sys.stdin.readline()
        append_all(20, 36)
        append_all(36, 56)
    print("total 56", flush=True)
