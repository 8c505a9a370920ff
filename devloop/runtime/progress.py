"""Show that an agent is working: a live line on a TTY, one plain line otherwise."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator


@contextlib.contextmanager
def agent_progress(label: str) -> Iterator[None]:
    """While the body runs, show ``label`` and the elapsed time.

    Writes to the real stderr, which doit does not capture, so it shows even
    while doit buffers the action's stdout.
    """
    stream = sys.__stderr__ or sys.stderr
    if not stream.isatty():
        print(f"... {label}", file=stream, flush=True)
        yield
        return
    stop = threading.Event()
    start = time.monotonic()

    def spin() -> None:
        frames = "|/-\\"
        i = 0
        while not stop.wait(0.25):
            elapsed = int(time.monotonic() - start)
            stream.write(f"\r{frames[i % 4]} {label} ({elapsed // 60}m{elapsed % 60:02d}s)\x1b[K")
            stream.flush()
            i += 1

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        stream.write("\r\x1b[K")
        stream.flush()


def note(text: str) -> None:
    """One whole line beside the live line (a retry's wait, say); on a TTY it clears the spinner's line first."""
    stream = sys.__stderr__ or sys.stderr
    prefix = "\r\x1b[K" if stream.isatty() else ""
    print(f"{prefix}... {text}", file=stream, flush=True)
