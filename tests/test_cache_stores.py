"""The answer cache's stores against real peers: a folder on disk, fsspec's memory filesystem, and gcsfs
talking to the two local GCS servers of tests/gcs_server.py (one ignores preconditions, one honours them)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from devloop.provenance.cache.stores import (
    FolderStore,
    FsspecStore,
    HostileBlob,
    Item,
    Store,
    StoreUnreachable,
    display_url,
    open_store,
)
from tests.gcp_servers import free_port
from tests.gcs_server import (  # noqa: F401  (fixtures)
    PROJECT,
    fake_gcs_server_fixture,
    gcs_server_fixture,
    make_bucket,
    raw_upload,
)

K1 = "a1" * 32
K2 = "b2" * 32
BAD_NAMES = ["../x", "a" * 63, "a" * 65, "A" * 64, "g" * 64, "a" * 64 + "\n", "ab/" + "a" * 61, "", None, b"a" * 64]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gs_store(server, bucket: str | None = None, prefix: str = "team", **kw) -> Store:
    if bucket is None:
        bucket = f"b-{uuid.uuid4().hex[:12]}"
        make_bucket(server.url, bucket)
    options = {"endpoint_url": server.url, "token": "anon", "project": PROJECT}
    return open_store(f"gs://{bucket}/{prefix}/", options, **kw)


@pytest.fixture(params=["gcs_server", "fake_gcs_server"])
def server(request):
    pytest.importorskip("gcsfs")
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["folder", "memory", "gcs_server", "fake_gcs_server"])
def any_store(request, tmp_path) -> Store:
    """A fresh, empty store of each kind."""
    if request.param == "folder":
        return open_store(str(tmp_path / "cache"))
    if request.param == "memory":
        pytest.importorskip("fsspec")
        return open_store(f"memory://stores-{uuid.uuid4().hex}")
    pytest.importorskip("gcsfs")
    return gs_store(request.getfixturevalue(request.param))


def test_round_trip_of_entries_and_blobs(any_store):
    s = any_store
    blob = b"\x00binary\xff" * 100
    assert s.read_entry(K1) is None
    assert not s.has_blob(sha(blob))
    assert s.read_blob(sha(blob)) is None

    assert s.write_entry(K1, b'{"v": 1}') is True
    assert s.write_blob(sha(blob), blob) is True
    assert s.read_entry(K1) == b'{"v": 1}'
    assert s.read_entry(K2) is None
    assert s.has_blob(sha(blob))
    assert s.read_blob(sha(blob)) == blob
    assert s.read_blob(sha(blob), size=len(blob)) == blob

    entries, blobs = list(s.entries()), list(s.blobs())
    assert [(i.name, i.size) for i in entries] == [(K1, 8)]
    assert [(i.name, i.size) for i in blobs] == [(sha(blob), len(blob))]
    assert all(isinstance(i, Item) and (i.mtime is None or i.mtime > 0) for i in entries + blobs)

    s.delete_entry(K1)
    s.delete_entry(K1)  # already gone: fine
    s.delete_blob(sha(blob))
    s.delete_blob(sha(b"never written"))
    assert s.read_entry(K1) is None
    assert not s.has_blob(sha(blob))
    assert list(s.entries()) == [] and list(s.blobs()) == []
    assert s.down is None


def test_a_second_write_keeps_the_first(any_store, request):
    s = any_store
    if "[gcs_server]" in request.node.name:
        pytest.skip("gcp-storage-emulator ignores ifGenerationMatch=0; fake_gcs_server covers that path")
    assert s.write_entry(K1, b"first") is True
    assert s.write_entry(K1, b"second") is False
    assert s.read_entry(K1) == b"first"
    blob = b"same bytes"
    assert s.write_blob(sha(blob), blob) is True
    assert s.write_blob(sha(blob), blob) is False


def test_write_blob_refuses_bytes_that_do_not_match_the_name(tmp_path):
    s = open_store(str(tmp_path / "cache"))
    with pytest.raises(ValueError, match=sha(b"other")):
        s.write_blob(sha(b"claimed"), b"other")
    assert not (tmp_path / "cache").exists()


def test_a_blob_changed_behind_the_folder_store_is_refused(tmp_path):
    s = open_store(str(tmp_path / "cache"))
    good = b"the answer"
    s.write_blob(sha(good), good)
    path = tmp_path / "cache" / "v1" / "blobs" / sha(good)[:2] / sha(good)
    path.write_bytes(b"a hostile answer")
    with pytest.raises(HostileBlob) as exc:
        s.read_blob(sha(good))
    assert sha(good) in str(exc.value) and str(tmp_path / "cache") in str(exc.value)
    assert sha(b"a hostile answer") in str(exc.value)
    assert s.down is None  # a bad object, not a dead store: the next read still goes to it
    assert s.read_entry(K1) is None


def test_a_blob_replaced_in_the_bucket_is_refused(server):
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    make_bucket(server.url, bucket)
    s = gs_store(server, bucket)
    good = b"the answer"
    s.write_blob(sha(good), good)
    status, body = raw_upload(server.url, bucket, f"team/v1/blobs/{sha(good)[:2]}/{sha(good)}", b"evil")
    assert status == 200, body
    with pytest.raises(HostileBlob, match=f"gs://{bucket}/team/: blob {sha(good)}"):
        s.read_blob(sha(good))
    with pytest.raises(HostileBlob):
        s.read_blob(sha(good), size=4)


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_bad_names_are_refused_before_any_io(name, tmp_path):
    folder = open_store(str(tmp_path / "cache"))
    # a bucket behind a closed port: any request would end in StoreUnreachable and set ``down``
    remote = open_store("gs://b/p", {"endpoint_url": f"http://127.0.0.1:{free_port()}", "token": "anon"})
    for s in (folder, remote):
        for method, args in (
            ("read_entry", (name,)),
            ("write_entry", (name, b"{}")),
            ("read_blob", (name,)),
            ("write_blob", (name, b"")),
            ("has_blob", (name,)),
            ("delete_entry", (name,)),
            ("delete_blob", (name,)),
            ("touch_entry", (name,)),
        ):
            with pytest.raises(ValueError, match="64 lowercase hex"):
                getattr(s, method)(*args)
        assert s.down is None
    assert not (tmp_path / "cache").exists()
    assert not (tmp_path / "x").exists()


def test_folder_creates_its_folders_on_the_first_write_only(tmp_path):
    root = tmp_path / "deep" / "cache"
    s = open_store(str(root))
    assert s.read_entry(K1) is None
    assert list(s.entries()) == []
    assert not root.exists()
    assert s.write_entry(K1, b"{}")
    assert (root / "v1" / "entries" / K1[:2] / f"{K1}.json").read_bytes() == b"{}"
    assert oct((root / "v1" / "entries" / K1[:2] / f"{K1}.json").stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in (root / "v1" / "entries" / K1[:2]).iterdir()] == [f"{K1}.json"]  # no temp left


def test_file_url_and_plain_path_are_the_same_folder(tmp_path):
    open_store(str(tmp_path)).write_entry(K1, b"x")
    s = open_store(f"file://{tmp_path}")
    assert isinstance(s, FolderStore)
    assert s.read_entry(K1) == b"x"
    with pytest.raises(ValueError):
        open_store("file://otherhost/srv/cache")
    with pytest.raises(ValueError):
        open_store(str(tmp_path), {"token": "anon"})


def race(calls: list[Callable[[], bool]]) -> list[bool | None]:
    """Run ``calls`` in threads of their own, released together; their results in order."""
    results: list[bool | None] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_folder_race_on_one_key_has_one_winner_and_whole_content(tmp_path):
    s = open_store(str(tmp_path / "cache"))
    writers = 6
    for round_ in range(20):
        key = f"{round_:02x}" * 32
        payloads = [bytes([65 + i]) * 300_000 for i in range(writers)]
        results = race([lambda p=p, key=key: s.write_entry(key, p) for p in payloads])
        assert results.count(True) == 1, results
        assert s.read_entry(key) == payloads[results.index(True)]
    shard_files = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(shard_files) == 20 and not any(n.endswith(".tmp") for n in shard_files)


def test_fake_gcs_server_race_on_one_key_has_one_winner(fake_gcs_server):
    pytest.importorskip("gcsfs")
    s = gs_store(fake_gcs_server)
    writers = 4
    payloads = [bytes([65 + i]) * 10_000 for i in range(writers)]
    results = race([lambda p=p: s.write_entry(K1, p) for p in payloads])
    assert results.count(True) == 1, results
    assert s.read_entry(K1) == payloads[results.index(True)]


def test_folder_without_hard_links_is_still_create_only(tmp_path):
    """The rename fallback (filesystems without link(2)), run on a real folder."""
    s = FolderStore(tmp_path / "cache", hard_links=False)
    assert s.write_entry(K1, b"first") is True
    assert s.write_entry(K1, b"second") is False
    assert s.read_entry(K1) == b"first"
    assert [p.name for p in (tmp_path / "cache" / "v1" / "entries" / K1[:2]).iterdir()] == [f"{K1}.json"]


def test_listing_shows_only_objects_not_temp_files_or_strays(tmp_path):
    root = tmp_path / "cache"
    s = open_store(str(root))
    blob = b"b"
    s.write_entry(K1, b"{}")
    s.write_blob(sha(blob), blob)
    shard = root / "v1" / "entries" / K1[:2]
    (shard / f".{K2}.json.devloop-4242-abcd_123.tmp").write_bytes(b"half")  # a killed writer's leftover
    (shard / f"{K2}.json").write_bytes(b"{}")  # a key in the wrong shard
    (shard / "notes.txt").write_bytes(b"")
    (shard / f"{'c' * 64}.JSON").write_bytes(b"")
    (root / "v1" / "entries" / "zz").mkdir()
    (root / "v1" / "entries" / "zz" / f"{'c' * 64}.json").write_bytes(b"")
    (shard / f"{K1[:2]}{'0' * 62}.json").mkdir()  # a folder named like an entry
    os.symlink(shard / f"{K1}.json", shard / f"{K1[:2]}{'1' * 62}.json")
    bshard = root / "v1" / "blobs" / sha(blob)[:2]
    (bshard / f".{sha(blob)}.devloop-4242-abcd_123.tmp").write_bytes(b"half")
    (bshard / f"{sha(blob)}.json").write_bytes(b"")
    assert [i.name for i in s.entries()] == [K1]
    assert [i.name for i in s.blobs()] == [sha(blob)]


def test_bucket_listing_shows_only_objects(server):
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    make_bucket(server.url, bucket)
    s = gs_store(server, bucket)
    s.write_entry(K1, b"{}")
    for stray in (
        f"team/v1/entries/{K1[:2]}/notes.txt",
        f"team/v1/entries/{K1[:2]}/.{K2}.json.devloop-1-abcdefgh.tmp",
        f"team/v1/entries/{K1[:2]}/{K2}.json",  # wrong shard
        f"team/v1/entries/{K1[:2]}/deeper/{K1}.json",
        f"other/v1/entries/{K2[:2]}/{K2}.json",  # another store in the same bucket
    ):
        assert raw_upload(server.url, bucket, stray, b"{}")[0] == 200
    items = list(s.entries())
    assert [(i.name, i.size) for i in items] == [(K1, 2)]
    assert items[0].mtime is not None
    assert list(s.blobs()) == []


def test_touch_entry_records_the_last_use_in_a_folder(tmp_path):
    s = open_store(str(tmp_path))
    s.write_entry(K1, b"{}")
    path = tmp_path / "v1" / "entries" / K1[:2] / f"{K1}.json"
    os.utime(path, (1_000_000.0, 1_000_000.0))
    assert [i.mtime for i in s.entries()] == [1_000_000.0]
    s.touch_entry(K1)
    assert [i.mtime for i in s.entries()] != [1_000_000.0]
    assert path.read_bytes() == b"{}"
    s.touch_entry(K2)  # no such entry: nothing happens
    assert s.read_entry(K2) is None


def test_a_folder_that_refuses_writes_still_serves_reads(tmp_path):
    if os.geteuid() != 0:
        root = tmp_path / "cache"
        open_store(str(root)).write_entry(K1, b"kept")
        for p in [root, *root.rglob("*")]:
            if p.is_dir():
                p.chmod(0o555)
        expected = b"kept"
    elif Path("/sys/kernel").is_dir():
        root, expected = Path("/sys/devloop-answer-cache"), None  # sysfs refuses new files, even to root
    else:
        pytest.skip("running as root without /sys: no folder here refuses a write")
    s = open_store(str(root))
    try:
        with pytest.raises(StoreUnreachable, match="write"):
            s.write_entry(K2, b"new")
        assert s.read_only is not None and str(root) in s.read_only
        assert s.down is None
        assert s.read_entry(K1) == expected
        with pytest.raises(StoreUnreachable):  # refused again at once
            s.write_blob(sha(b""), b"")
    finally:
        for p in [root, *root.rglob("*")] if expected else []:
            if p.is_dir():
                p.chmod(0o755)


# -- remote failures ----------------------------------------------------------------------------------------
def _listener(port: int) -> socket.socket:
    """A socket listening on ``port`` that never answers: a connection to it waits in its backlog."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(16)
    sock.setblocking(False)
    return sock


def test_an_unreachable_bucket_is_given_up_once_and_not_asked_again():
    pytest.importorskip("gcsfs")
    port = free_port()  # nothing listens: connect is refused
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "token": "anon", "project": PROJECT}
    s = open_store("gs://answers/team", options, timeout=5)
    with pytest.raises(StoreUnreachable) as exc:
        s.read_entry(K1)
    assert str(exc.value) == s.down
    assert s.down.startswith("gs://answers/team: read: ") and "\n" not in s.down

    listener = _listener(port)  # from now on a request would be seen here
    try:
        for call in (
            lambda: s.read_entry(K1),
            lambda: s.write_entry(K1, b"{}"),
            lambda: s.read_blob(sha(b"")),
            lambda: s.write_blob(sha(b""), b""),
            lambda: s.has_blob(sha(b"")),
            lambda: list(s.entries()),
            lambda: s.delete_entry(K1),
        ):
            with pytest.raises(StoreUnreachable):
                call()
        s.touch_entry(K1)  # a no-op for remote stores
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked

        # the control: a store that has not given up does reach this listener, and its timeout ends the wait
        fresh = open_store("gs://answers/team", options, timeout=1)
        with pytest.raises(StoreUnreachable, match="no answer within 1 s"):
            fresh.read_entry(K1)
        conn, _ = listener.accept()
        conn.close()
        assert fresh.down is not None
    finally:
        listener.close()


def test_a_missing_bucket_is_a_miss_to_read_and_unreachable_to_write(server):
    """Reads cannot tell a missing bucket from a missing object without a bucket permission (the 404 is the
    same), so they miss; a write or a listing names the bucket as missing and gives the store up."""
    s = gs_store(server, bucket=f"missing-{uuid.uuid4().hex[:8]}")
    assert s.read_entry(K1) is None
    assert s.down is None
    with pytest.raises(StoreUnreachable, match="no such bucket"):
        s.write_entry(K1, b"{}")
    assert s.down is not None
    other = gs_store(server, bucket=f"missing-{uuid.uuid4().hex[:8]}")
    with pytest.raises(StoreUnreachable, match="no such bucket"):
        list(other.entries())


def test_a_store_url_never_shows_credentials():
    s = open_store("s3://AKIDEXAMPLE:wJalrXUtnFEMI@answers/team?token=abc")
    assert isinstance(s, FsspecStore)
    assert s.url == "s3://answers/team"
    assert display_url("memory://user:pw@host/x") == "memory://host/x"
    with pytest.raises(ValueError, match="nosuchfs"):
        open_store("nosuchfs://x/y")


# -- what loading costs --------------------------------------------------------------------------------
def test_a_folder_store_and_devloop_help_leave_fsspec_unloaded(tmp_path):
    code = (
        "import sys\n"
        "from devloop.provenance.cache.stores import open_store\n"
        f"s = open_store({str(tmp_path)!r}); s.write_entry({K1!r}, b'x'); assert s.read_entry({K1!r}) == b'x'\n"
        "print(sorted(m for m in ('fsspec', 'gcsfs', 'aiohttp') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"

    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    devloop = Path(sys.executable).parent / "devloop"
    run = subprocess.run([str(devloop), "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "devloop.cli.main" in imported  # the profile is real
    assert not {m for m in imported if m.split(".")[0] in ("fsspec", "gcsfs")}
