"""Artifacts are doit targets and upstream artifacts are file_dep, while the lock keeps deciding staleness."""

from __future__ import annotations

from tests.conftest import WS


def _two_features(ws: WS) -> None:
    ws.add_feature("a")
    ws.add_feature("b")


def test_doit_an_artifact_path_brings_that_artifact_and_its_upstream_up_to_date_only(ws: WS) -> None:
    _two_features(ws)
    r = ws.doit("plans/a/plan.md")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [c[:2] for c in ws.calls_since(0)] == [("a", "plan")]  # nothing of b, nothing downstream
    r = ws.doit("plans/a/reviews.md")
    assert r.returncode == 0, r.stdout + r.stderr
    steps = {(f, s) for f, s, _ in ws.calls_since(0)}
    assert steps == {("a", "plan"), ("a", "plan_review"), ("a", "implement"), ("a", "code_review")}
    assert (ws.root / "plans/a/reviews.md").is_file() and not (ws.root / "plans/a/evaluation.md").exists()


def test_doit_info_shows_targets_and_upstream_artifacts(ws: WS) -> None:
    _two_features(ws)
    assert ws.doit().returncode == 0
    r = ws.doit("info", "code_review:a")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "targets" in out and "plans/a/reviews.md" in out
    assert "file_dep" in out and "plans/a/plan.md" in out and "plans/a/deviations.md" in out
    assert "plans/b/" not in out
    r = ws.doit("info", "plan:a")
    assert "plans/a/brief.md" in r.stdout and "plans/a/validation.md" in r.stdout


def test_a_missing_target_is_a_stale_step_as_in_make(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    n = len(ws.calls())
    (ws.root / "plans/a/reviews.md").unlink()
    r = ws.doit("list", "--all", "--status")
    assert r.returncode == 0, r.stderr
    status = {line.split()[1]: line.split()[0] for line in r.stdout.splitlines() if line[:2] in ("U ", "R ", "I ")}
    assert status["code_review:a"] == "R" and status["plan:a"] == "U", r.stdout
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    assert (ws.root / "plans/a/reviews.md").is_file()
    assert ("a", "plan") not in {c[:2] for c in ws.calls_since(n)}


def test_doit_clean_and_forget_never_delete_or_lose_an_artifact(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    before = {p: p.read_bytes() for p in (ws.root / "plans" / "a").rglob("*") if p.is_file()}
    n = len(ws.calls())
    for args in (
        ("clean",),
        ("clean", "--clean-all", "--forget"),
        ("clean", "code_review:a"),
        ("forget",),
        ("forget", "-s"),
    ):
        r = ws.doit(*args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    after = {p: p.read_bytes() for p in (ws.root / "plans" / "a").rglob("*") if p.is_file()}
    assert after == before
    r = ws.doit()  # doit's database forgotten: the lock still says up to date, and no agent is called
    assert r.returncode == 0 and "Everything is up to date" in r.stdout, r.stdout
    assert len(ws.calls()) == n


def test_a_fresh_clone_calls_no_agent_and_runs_nothing(ws: WS, tmp_path_factory) -> None:
    import shutil

    ws.add_feature("a")
    assert ws.doit().returncode == 0
    n = len(ws.calls())
    shutil.rmtree(ws.root / ".devloop")  # doit's database lives there: what a fresh clone lacks
    r = ws.doit()
    assert r.returncode == 0 and "Everything is up to date" in r.stdout, r.stdout
    assert len(ws.calls()) == n
    assert "Everything is up to date" in ws.doit().stdout  # and the seeded state holds on the next run


def test_doit_n_4_runs_features_in_parallel_with_the_graph(ws: WS) -> None:
    for f in ("a", "b", "c", "d"):
        ws.add_feature(f)
    r = ws.doit("-n", "4")
    assert r.returncode == 0, r.stdout + r.stderr
    for f in ("a", "b", "c", "d"):
        assert (ws.root / f"plans/{f}/reviews.md").is_file()
    r = ws.doit("-n", "4")
    assert "Everything is up to date" in r.stdout, r.stdout
