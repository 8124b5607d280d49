"""Advisory file locks (``flock``) shared by the lake's writers: the ingest feed locks and the warehouse's
single-writer lock. Held by an open file handle; the kernel releases them when the process dies."""

from __future__ import annotations

import fcntl
import time
from typing import IO


def acquire(handle: IO, wait_seconds: float | None, poll: float = 0.2) -> bool:
    """Take an exclusive lock on ``handle``: block until free (``wait_seconds`` None), or try until
    ``wait_seconds`` have passed. True when taken."""
    if wait_seconds is None:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return True
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)


def release(handle: IO) -> None:
    fcntl.flock(handle, fcntl.LOCK_UN)
