"""Makes the generated stubs importable when running from a source checkout.

The stubs import each other as top-level packages (``oma.v1``, ``google.rpc``), as protoc
generates them. Installed with pip they are top-level packages; in a checkout they live in
``clients/python/gen``, which this adds to ``sys.path`` when ``oma.v1`` is not importable.
"""
import os
import sys

try:
    import oma.v1.event_pb2  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gen"))
