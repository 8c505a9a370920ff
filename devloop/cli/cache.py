"""``devloop cache``: the answer cache's stores: what they hold, copying between them, checking, trimming."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.config.workspace import Workspace
from devloop.runtime import wslock


@click.group()
def cache() -> None:
    """The answer cache: a call whose exact question was answered before is restored, not asked again.

    The local store (cache.local, .devloop/cache/ by default) keeps every accepted answer; shared stores
    (cache.stores in devloop.yaml: gs://, s3://, a shared folder) are read in order and written where
    `push: true`. Whoever can write a store can supply answers: list only stores you trust.
    """


def _stores(ws: Workspace) -> Any:
    from devloop.steps import answer_cache  # lazy: off the path of devloop --help (loads the steps layer)

    return answer_cache.AnswerCache(ws)


def _pick(ws: Workspace, url: str | None, want: str) -> list[Any]:
    """The stores a command acts on: the one named by URL (as in devloop.yaml, or a folder store's full
    path), else those with ``want``."""
    from devloop.steps.answer_cache import where  # lazy: off the path of devloop --help

    c = _stores(ws)
    if url is not None:
        if url in ("local", c.local.url):
            return [c.local]
        for i, (spec, _) in enumerate(c.shared):
            if url in (spec["url"], where(ws, spec["url"])):
                store = c._store(i)
                if store is None:
                    raise click.ClickException(f"the store {url} cannot be used here")
                return [store]
        known = ", ".join(["local", *(s["url"] for s, _ in c.shared)])
        raise click.ClickException(f"no store {url!r} in devloop.yaml's cache.stores (known: {known})")
    if want == "push":
        return [c._store(i) for i, (s, _) in enumerate(c.shared) if s.get("push")]
    if want == "read":
        return [s for s in c.readers() if s is not c.local]
    return [c.local, *(c._store(i) for i in range(len(c.shared)))]


@contextmanager
def _ticking(label: str) -> Iterator[Callable[[], None]]:
    """A live count on a terminal (stores can hold thousands of objects); nothing when output is piped."""
    from rich.console import Console  # lazy: loads rich
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}: {task.completed} objects"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda: progress.advance(task)


def _unreachable(fn: Callable[[], Any], url: str) -> Any:
    from devloop.provenance.cache.stores import StoreUnreachable

    try:
        return fn()
    except (StoreUnreachable, OSError) as exc:
        raise click.ClickException(f"the store {url} is unreachable: {exc}") from None


@cache.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def status(as_json: bool, root: Path | None) -> None:
    """Each store: where it is, whether it is read and pushed to, how many answers and bytes it holds."""
    ws = open_workspace(root)
    c = _stores(ws)
    cfg = ws.config_view.get("cache") or {}
    from devloop.provenance.cache.stores import display_url  # lazy: off the path of devloop --help

    rows = []
    stores = [("local", c.local.url, c.local, True, bool(cfg.get("write", True)), "")]
    for i, (spec, _) in enumerate(c.shared):
        store = c._store(i)
        why = c.unusable.get(i, "")
        read, push = bool(spec.get("read", True)), bool(spec.get("push"))
        stores.append(("shared", display_url(spec["url"]), store, read, push, why))
    for kind, url, store, read, push, why in stores:
        row: dict[str, Any] = {"store": kind, "read": read, "push": push}
        if store is None:
            rows.append({**row, "url": url, "error": f"cannot be used here ({why})" if why else "cannot be used here"})
            continue
        row["url"] = store.url
        try:
            with _ticking(f"listing {store.url}") as tick:
                entries = blobs = size = 0
                for item in store.entries():
                    tick()
                    entries, size = entries + 1, size + item.size
                for item in store.blobs():
                    tick()
                    blobs, size = blobs + 1, size + item.size
        except Exception as exc:  # a store's client may raise anything: status says it and goes on
            rows.append({**row, "error": str(exc) or type(exc).__name__})
            continue
        rows.append({**row, "answers": entries, "blobs": blobs, "bytes": size})
    if as_json:
        click.echo(json.dumps({"read": c.read, "max_bytes": cfg.get("max_bytes"), "stores": rows}, indent=2))
        return
    click.echo(f"Answer cache: {'on' if c.read else 'off (cache.read: false or DEVLOOP_NO_CACHE)'} for reading")
    for r in rows:
        kept = "write" if r["store"] == "local" else "push"
        use = ", ".join(w for w, on in (("read", r["read"]), (kept, r["push"])) if on) or "unused"
        if "error" in r:
            click.echo(f"  {r['store']:<6} {r['url']}  ({use}): {r['error']}")
        else:
            held = f"{r['answers']} answers, {r['blobs']} blobs, {_bytes(r['bytes'])}"
            click.echo(f"  {r['store']:<6} {r['url']}  ({use}): {held}")
    if c.local is not None and rows and "bytes" in rows[0] and cfg.get("max_bytes"):
        click.echo(f"Local cap: {_bytes(int(cfg['max_bytes']))} (devloop cache gc trims to it)")


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


@cache.command()
@click.option("--to", "url", default=None, help="One store (its url in devloop.yaml); default: every store with push.")
@workspace_option
def push(url: str | None, root: Path | None) -> None:
    """Copy the local store's answers to the shared stores that take pushes (create-only: nothing is overwritten)."""
    ws = open_workspace(root)
    targets = [s for s in _pick(ws, url, "push") if s is not None]
    if not targets:
        raise click.ClickException("no store takes pushes: set push: true on one in cache.stores, or name it: --to URL")
    local = _stores(ws).local
    for dst in targets:
        _copy(local, dst, f"to {dst.url}", dst.url)


@cache.command()
@click.option("--from", "url", default=None, help="One store (its url in devloop.yaml); default: every store read.")
@workspace_option
def pull(url: str | None, root: Path | None) -> None:
    """Copy the shared stores' answers into the local store (each checked; a bad one is named and skipped).

    A store lying where agents' programs may write is never read by a run; naming it with --from pulls
    from it all the same: that is your decision.
    """
    ws = open_workspace(root)
    sources = [s for s in _pick(ws, url, "read") if s is not None]
    if not sources:
        raise click.ClickException("no shared store is configured (cache.stores in devloop.yaml)")
    local = _stores(ws).local
    for src in sources:
        _copy(src, local, f"from {src.url}", src.url)


def _copy(src: Any, dst: Any, way: str, remote: str) -> None:
    """Copy with a live count, then say what was copied and what was refused."""
    from devloop.provenance.cache import upkeep

    with _ticking(f"copying {way}") as tick:
        done = _unreachable(lambda: upkeep.copy(src, dst, tick), remote)
    click.echo(f"{done.copied} answers copied {way}, {done.present} already there")
    for line in done.refused:
        click.echo(f"  refused {line}", err=True)


@cache.command()
@click.option("--store", "url", default=None, help="One store (its url in devloop.yaml, or local); default: all.")
@click.option("--delete", is_flag=True, help="Remove what is bad, so the store answers only what it can back.")
@workspace_option
def verify(url: str | None, delete: bool, root: Path | None) -> None:
    """Check every entry field by field and every blob against its hash; exit 1 when anything is bad."""
    from devloop.provenance.cache import upkeep

    ws = open_workspace(root)
    bad = 0
    for store in _pick(ws, url, "all"):
        if store is None:
            continue
        with _ticking(f"checking {store.url}") as tick:
            done = _unreachable(lambda store=store, tick=tick: upkeep.verify(store, tick, delete), store.url)
        state = "sound" if not done.bad else f"{len(done.bad)} bad" + (" (removed)" if delete else "")
        click.echo(f"{store.url}: {done.entries} answers, {done.blobs} blobs checked: {state}")
        for line in done.bad:
            click.echo(f"  {line}")
        bad += len(done.bad)
    if bad:
        raise SystemExit(1)


@cache.command()
@click.option("--max-bytes", type=int, default=None, help="Trim to this size (default: cache.max_bytes).")
@workspace_option
def gc(max_bytes: int | None, root: Path | None) -> None:
    """Trim the local store: least recently used answers first, then every blob no answer kept needs."""
    from devloop.provenance.cache import upkeep
    from devloop.provenance.cache.stores import FolderStore
    from devloop.runtime.atomic import sweep_temp_files

    ws = open_workspace(root)
    cap = max_bytes if max_bytes is not None else int((ws.config_view.get("cache") or {}).get("max_bytes") or 0)
    wslock.acquire(ws.ensure_state_dir())  # no run writes the store while it is trimmed
    local = _stores(ws).local
    if isinstance(local, FolderStore):  # what writers killed mid-write left (runs leave none there)
        sweep_temp_files(Path(local.root))
    with _ticking(f"trimming {local.url}") as tick:
        done = upkeep.gc(local, cap, tick)
    click.echo(
        f"Removed {done.entries} answers and {done.blobs} blobs ({_bytes(done.freed)}); "
        f"{_bytes(done.size)} left (cap {_bytes(cap)})"
    )


COMMANDS = [cache]
