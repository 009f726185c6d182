"""``python3 -m oma_brain --server URL --id WORKER_ID``: a brain worker in Python."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys

from .model import RetryPolicy
from .worker import Worker


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="oma_brain", description="An OMA brain worker: ConnectWorker, then one brain per assignment.")
    parser.add_argument("--server", default=os.environ.get("OMA_SERVER", "http://127.0.0.1:7070"), help="the server's URL (default $OMA_SERVER or http://127.0.0.1:7070)")
    parser.add_argument("--id", dest="worker_id", default=f"py-{socket.gethostname()}-{os.getpid()}", help="the worker id (WIRE-8)")
    parser.add_argument("--capacity", type=int, default=4, help="brains run at once (default 4)")
    parser.add_argument("--token", default=os.environ.get("OMA_TOKEN"), help="bearer token sent with every call (default $OMA_TOKEN)")
    parser.add_argument("--model-max-attempts", type=int, default=6, help="attempts per model call (default 6)")
    args = parser.parse_args(argv)
    # The same OMA_LOG_LEVEL names as the reference server's workers.
    levels = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR, "fatal": logging.CRITICAL, "silent": logging.CRITICAL + 10}
    level = levels.get(os.environ.get("OMA_LOG_LEVEL", "info").lower(), logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    worker = Worker(args.server, args.worker_id, args.capacity, args.token, RetryPolicy(max_attempts=args.model_max_attempts))
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set() or worker.oma.close())
    try:
        worker.run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
