"""A folder under plans/ whose name breaks the feature name rule is no feature: one line, nothing written for it."""

from __future__ import annotations

from tests.conftest import WS

BAD = "plans/daily ingest/"


def _bad_folder(ws: WS) -> None:
    folder = ws.root / "plans" / "daily ingest"
    folder.mkdir(parents=True)
    (folder / "brief.md").write_text("# Daily ingest\n\nMade by hand.\n")


def _said(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if BAD in line]


def test_a_badly_named_folder_is_named_once_and_left_alone(ws: WS) -> None:
    ws.add_feature("good")
    _bad_folder(ws)
    r = ws.doit("plan:good")
    assert r.returncode == 0, r.stdout + r.stderr
    said = _said(r.stderr)
    assert len(said) == 1, r.stderr
    assert "'daily ingest' is not kebab-case" in said[0] and "no spaces" in said[0]
    assert "nothing is written for it" in said[0] and "rename it to plans/daily-ingest/" in said[0]
    assert "daily ingest" not in r.stdout  # no Next: for it
    assert sorted(p.name for p in (ws.root / BAD).iterdir()) == ["brief.md"]  # no lock, no artifact
    assert not any("daily" in str(p) for p in (ws.root / ".devloop").rglob("*"))  # no prompt, no state
    assert (ws.root / "plans/good/plan.md").is_file()  # the other feature ran as before
    assert [c for c in ws.calls() if c["feature"] != "good"] == []

    listed = ws.doit("list", "--all")
    assert listed.returncode == 0 and "plan:good" in listed.stdout and "daily" not in listed.stdout
    assert len(_said(listed.stderr)) == 1

    typed = ws.doit("plan_review:daily ingest")
    assert typed.returncode != 0 and (ws.root / BAD / "devloop.lock").exists() is False


def test_status_says_the_same_line(ws: WS) -> None:
    ws.add_feature("good")
    _bad_folder(ws)
    doit_line = _said(ws.doit("plan:good").stderr)
    st = ws.devloop("status")
    assert st.returncode == 0, st.stderr
    assert _said(st.stderr) == doit_line and len(doit_line) == 1
    assert "daily" not in st.stdout and "good" in st.stdout
    js = ws.devloop("status", "--json")
    assert js.returncode == 0 and "daily" not in js.stdout and _said(js.stderr) == doit_line


def test_a_plain_doit_with_only_a_bad_folder_writes_nothing_for_it(ws: WS) -> None:
    _bad_folder(ws)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(_said(r.stderr)) == 1
    assert sorted(p.name for p in (ws.root / BAD).iterdir()) == ["brief.md"]
    assert ws.calls() == []
