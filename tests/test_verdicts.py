"""The verdict memo gives an answer back only while every file it rests on is provably unchanged."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from devloop.provenance import hashing, verdicts
from devloop.provenance.verdicts import FILE, Verdicts, stamp_of
from tests.polling import wait_until

OLD = 10_000_000_000  # ns: older than the racy window, so a stat proves the content


@pytest.fixture(autouse=True)
def started_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process started 10 s from now: every file written by the test so far, ctime included, is settled.

    (utime can set a file's mtime back, never its ctime.) A test that needs a
    file changed just before the process started sets its mtime to ``STARTED_NS``.
    """
    monkeypatch.setattr(verdicts, "STARTED_NS", time.time_ns() + OLD)


def age(path: Path, by_ns: int = OLD) -> None:
    """Last modified well before this process started (the memo trusts no file newer than that)."""
    then = verdicts.STARTED_NS - by_ns
    os.utime(path, ns=(then, then))


def just_now(path: Path) -> None:
    """Modified as this process started: within the racy window."""
    os.utime(path, ns=(verdicts.STARTED_NS, verdicts.STARTED_NS))


def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "plans" / "a").mkdir(parents=True)
    for name, text in (("plan.md", "# plan\n"), ("brief.md", "# brief\n"), ("devloop.lock", "{}\n")):
        (root / "plans" / "a" / name).write_text(text)
    for p in [*root.rglob("*"), root]:
        age(p)
    return root


def memo(root: Path, stamp: str = "s1", keeps: bool = True) -> Verdicts:
    return Verdicts(root, root / ".devloop", (stamp, keeps))


DEPS = ["plans/a/devloop.lock", "plans/a/plan.md", "plans/a/brief.md"]


def test_an_answer_on_settled_files_is_kept_saved_and_given_back(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], DEPS)
    m.save()
    again = memo(root)
    assert again.get("a:plan") == ["fresh", []]
    assert again.get("a:other") is None


def test_a_file_modified_within_the_racy_window_keeps_nothing(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    (root / "plans/a/plan.md").write_text("# plan, just now\n")
    just_now(root / "plans/a/plan.md")
    m = memo(root)
    assert not m.record("a:plan", ["fresh", []], DEPS)
    assert m.get("a:plan") is None
    m.save()
    assert not (root / ".devloop" / FILE).exists()


def test_a_put_back_with_an_old_mtime_is_too_new_by_its_ctime_and_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Condition 3: the newest of mtime and ctime must be settled (cp -p sets an old mtime, the ctime is now)."""
    root = workspace(tmp_path)
    plan = root / "plans/a/plan.md"
    plan.write_text("# PLAN\n")
    then = time.time_ns() - OLD
    os.utime(plan, ns=(then, then))  # as cp -p leaves it
    monkeypatch.setattr(verdicts, "STARTED_NS", time.time_ns())  # a run starts now
    key = hashing.key_of(plan.stat())
    assert key[1] < verdicts.STARTED_NS - hashing.RACY_NS <= key[2]
    assert not hashing.settled(key, verdicts.STARTED_NS)
    assert not memo(root).record("a:plan", ["fresh", []], DEPS)


def test_a_rewrite_with_same_size_and_mtime_put_back_is_seen_through_ctime(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], DEPS)
    m.save()
    plan = root / "plans/a/plan.md"
    st = plan.stat()
    # The file system's clock (coarse: a few ms a tick) must first move past the recorded ctime, or the
    # rewrite would carry the same one: touch a scratch file beside the workspace until its ctime is later.
    tick = tmp_path / "tick"
    tick.touch()

    def clock_moved_on() -> bool:
        os.utime(tick)  # its ctime: now, by the file system's clock
        return tick.stat().st_ctime_ns > st.st_ctime_ns

    assert wait_until(clock_moved_on, timeout=5)
    plan.write_text("# PLAN\n")  # same size
    os.utime(plan, ns=(st.st_atime_ns, st.st_mtime_ns))  # as cp -p or rsync -t would
    now = plan.stat()
    assert (now.st_size, now.st_mtime_ns, now.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)
    assert now.st_ctime_ns > st.st_ctime_ns  # the one trace of the rewrite
    assert memo(root).get("a:plan") is None


@pytest.mark.parametrize("change", ["edit", "delete", "replace"])
def test_any_change_of_a_dependency_voids_the_answer(tmp_path: Path, change: str) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], DEPS)
    m.save()
    plan = root / "plans/a/plan.md"
    if change == "edit":
        plan.write_text("# plan, edited\n")
    elif change == "delete":
        plan.unlink()
    else:
        (root / "plans/a/new.md").write_text("# plan\n")
        (root / "plans/a/new.md").replace(plan)  # same content, another inode
    assert memo(root).get("a:plan") is None


def test_a_missing_file_rests_on_its_folder_so_its_appearance_voids_the_answer(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    assert m.record("a:review", ["fresh", []], [*DEPS, "plans/a/not-yet.md"])
    m.save()
    assert memo(root).get("a:review") == ["fresh", []]
    (root / "plans/a/not-yet.md").write_text("here now\n")
    os.utime(root / "plans/a", ns=(1, 1))  # even with its folder back-dated: the file's own key changed
    assert memo(root).get("a:review") is None


def test_a_file_that_changed_while_it_was_read_is_not_kept(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    plan = root / "plans/a/plan.md"
    hashing.stat_key(str(plan))  # what a reader saw
    plan.write_text("# plan, rewritten\n")
    age(plan)
    assert not memo(root).record("a:plan", ["fresh", []], DEPS)


def test_a_file_missing_when_read_and_put_in_place_back_dated_is_not_kept(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    late = root / "plans/a/late.md"
    hashing.stat_key(str(late))  # a reader found it missing
    late.write_text("# copied in with its old mtime\n")
    age(late)
    assert not memo(root).record("a:plan", ["fresh", []], [*DEPS, "plans/a/late.md"])


def test_recording_with_a_new_key_voids_every_answer_taken_with_the_old_one(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], DEPS)
    assert m.record("a:plan_review", ["fresh", []], ["plans/a/plan.md"])
    m.save()
    (root / "plans/a/plan.md").write_text("# plan, edited by hand\n")
    age(root / "plans/a/plan.md")
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], DEPS)  # plan.md's key moves on ...
    assert m.get("a:plan_review") is None  # ... and the answer resting on the old key is gone
    m.save()
    assert "a:plan_review" not in json.loads((root / ".devloop" / FILE).read_text())["entries"]


def test_another_stamp_forgets_everything_and_an_unsettled_stamp_keeps_nothing(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    m.record("a:plan", ["fresh", []], DEPS)
    m.save()
    assert memo(root, "s2").get("a:plan") is None
    m = memo(root, "s1", keeps=False)
    assert not m.record("a:plan_review", ["fresh", []], DEPS)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"stamp": "s1", "paths": [1], "keys": [], "entries": {}}', "\0"])
def test_a_damaged_memo_file_is_an_empty_memo(tmp_path: Path, text: str) -> None:
    root = workspace(tmp_path)
    (root / ".devloop").mkdir()
    (root / ".devloop" / FILE).write_text(text)
    m = memo(root)
    assert m.get("a:plan") is None
    assert m.record("a:plan", ["fresh", []], DEPS)


def test_a_stale_stat_is_never_taken_from_memory_once_steps_may_write(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], DEPS)
    assert m.get("a:plan") == ["fresh", []]
    m.live = True  # a step runs
    (root / "plans/a/plan.md").write_text("# plan, written by a step\n")
    assert m.get("a:plan") is None


def test_after_a_step_only_other_features_plans_are_taken_from_memory(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    (root / "plans/b").mkdir()
    (root / "plans/b/plan.md").write_text("# b\n")
    (root / "src").mkdir()
    (root / "src/x.py").write_text("x = 1\n")
    for p in (root / "plans/b/plan.md", root / "src/x.py", root / "plans/b", root / "src"):
        age(p)
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], DEPS)
    assert m.record("b:plan", ["fresh", []], ["plans/b/plan.md"])
    assert m.record("b:code", ["fresh", []], ["src/x.py"])
    m.live = True
    (root / "plans/a/plan.md").write_text("# plan, rewritten by a's step\n")
    (root / "src/x.py").write_text("x = 2  # a's implementer changed shared code\n")
    m.settle("a")
    assert m.get("a:plan") is None and m.get("b:code") is None
    assert m.get("b:plan") == ["fresh", []]


def test_the_stamp_changes_with_devloop_yaml_and_templates_and_says_when_they_are_too_new(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    (root / "devloop.yaml").write_text("agents: {}\n")
    templates = root / "templates"
    age(root / "devloop.yaml")
    first, settled = stamp_of(root, [templates])
    assert settled
    templates.mkdir()
    (templates / "plan.md.j2").write_text("{{ brief }}\n")
    just_now(templates / "plan.md.j2")
    second, settled = stamp_of(root, [templates])
    assert second != first and not settled  # an override appeared, just now
    age(templates / "plan.md.j2")
    assert stamp_of(root, [templates])[1]
    (root / "devloop.yaml").write_text("agents: {x: 1}\n")
    just_now(root / "devloop.yaml")
    third, settled = stamp_of(root, [templates])
    assert third != second and not settled


def test_the_stamp_holds_every_module_of_devloop_by_its_full_key(tmp_path: Path) -> None:
    """Condition 1: any module of the package, in any folder, by size, mtime, ctime or inode."""
    import shutil

    pkg = Path(verdicts.__file__).resolve().parent.parent
    copy = tmp_path / "devloop"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    first, _ = hashing.tree_stamp(copy)
    for rel in (
        "judging/review/__init__.py", "agents/__init__.py", "after_deploy/checks/__init__.py", "cli/__init__.py",
        "judging/answers.py",
    ):  # fmt: skip
        module = copy / rel
        st = module.stat()
        data = module.read_bytes()
        module.write_bytes(data[:-1] + (b" " if data[-1:] != b" " else b"\n"))  # same size
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: only the ctime moved
        now, latest = hashing.tree_stamp(copy)
        assert now != first, rel
        assert latest >= module.stat().st_ctime_ns
        first = now
    assert hashing.package_stamp()[0] == hashing.tree_stamp(pkg)[0]


def test_an_unsettled_package_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Condition 2: a module changed within the racy window before the run makes the stamp unsettled."""
    root = workspace(tmp_path)
    _, latest = hashing.package_stamp()
    monkeypatch.setattr(verdicts, "STARTED_NS", latest + hashing.RACY_NS // 2)
    assert not stamp_of(root, [])[1]
    monkeypatch.setattr(verdicts, "STARTED_NS", latest + hashing.RACY_NS + 1)
    assert stamp_of(root, [])[1]


# -- the boundaries and bookkeeping a mutation run found unguarded ------------------------------------------
def test_a_file_exactly_at_the_racy_limit_is_still_too_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = workspace(tmp_path)
    plan = root / "plans/a/plan.md"
    newest = hashing.newest(hashing.key_of(plan.stat()))
    monkeypatch.setattr(verdicts, "STARTED_NS", newest + hashing.RACY_NS)
    assert not memo(root).record("a:plan", ["fresh", []], DEPS)
    monkeypatch.setattr(verdicts, "STARTED_NS", newest + hashing.RACY_NS + 1)
    assert memo(root).record("a:plan", ["fresh", []], DEPS)


def test_the_stamp_is_unsettled_exactly_at_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = workspace(tmp_path)
    templates = root / "templates"
    templates.mkdir()
    monkeypatch.setattr(verdicts, "package_stamp", lambda: ("code", 0))
    for made, tops in ((templates / "plan.md.j2", [templates]), (root / "devloop.yaml", [])):
        made.write_text("x\n")
        newest = hashing.newest(hashing.key_of(made.stat()))
        newest = max([newest, *(hashing.newest(hashing.key_of(p.stat())) for p in templates.rglob("*"))])
        monkeypatch.setattr(verdicts, "STARTED_NS", newest + hashing.RACY_NS)
        assert not stamp_of(root, tops)[1], made
        monkeypatch.setattr(verdicts, "STARTED_NS", newest + hashing.RACY_NS + 1)
        assert stamp_of(root, tops)[1], made
    monkeypatch.setattr(verdicts, "package_stamp", lambda: ("code", verdicts.STARTED_NS - hashing.RACY_NS))
    assert not stamp_of(root, [templates])[1]  # devloop's own code changed exactly at the limit
    monkeypatch.setattr(verdicts, "package_stamp", lambda: ("code", verdicts.STARTED_NS - hashing.RACY_NS - 1))
    assert stamp_of(root, [templates])[1]


def test_the_stamp_changes_with_the_memo_format_and_the_template_folder_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = workspace(tmp_path)
    templates = root / "templates"
    absent = stamp_of(root, [templates])[0]
    templates.mkdir()
    assert stamp_of(root, [templates])[0] != absent  # an empty override folder appeared
    first = stamp_of(root, [templates])[0]
    monkeypatch.setattr(verdicts, "FORMAT", verdicts.FORMAT + 1)
    assert stamp_of(root, [templates])[0] != first


def test_absolute_dependencies_and_missing_ones_outside_the_workspace_rest_on_their_folder(tmp_path: Path) -> None:
    """git's per-user ignore files are absolute paths, present or not."""
    root = workspace(tmp_path)
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".gitconfig").write_text("[core]\n")
    for p in (home / ".gitconfig", home / ".config", home):
        age(p)
    ignore = home / ".config" / "git" / "ignore"
    deps = [*DEPS, str(home / ".gitconfig"), str(ignore)]
    m = memo(root)
    assert m.record("a:code_review", ["fresh", []], deps)
    m.save()
    assert memo(root).get("a:code_review") == ["fresh", []]
    ignore.parent.mkdir()
    ignore.write_text("*.log\n")
    assert memo(root).get("a:code_review") is None


def test_a_missing_file_at_the_top_rests_on_the_workspace_folder(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], [*DEPS, "devloop.yaml"])
    m.save()
    (root / "devloop.yaml").write_text("agents: {}\n")
    assert memo(root).get("a:plan") is None


def test_a_memo_of_a_workspace_that_is_gone_keeps_nothing(tmp_path: Path) -> None:
    m = Verdicts(tmp_path / "gone", tmp_path / "state", ("s1", True))
    assert not m.record("a:plan", ["fresh", []], ["plans/a/plan.md"])


def test_two_missing_files_in_one_folder_leave_every_other_dependency_recorded(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    deps = ["plans/a/plan.md", "plans/a/brief.md", "plans/a/x.md", "plans/a/y.md"]
    assert m.record("a:plan", ["fresh", []], deps)
    m.save()
    folder = (root / "plans/a").stat()
    (root / "plans/a/brief.md").write_text("# BRIEF\n")  # rewritten in place: its folder keeps its key
    assert (root / "plans/a").stat().st_ctime_ns == folder.st_ctime_ns
    assert memo(root).get("a:plan") is None  # brief.md's own key must be in the answer


def test_an_answer_recorded_with_a_dependency_s_new_key_is_given_back(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], DEPS)
    (root / "plans/a/plan.md").write_text("# plan 2\n")
    age(root / "plans/a/plan.md")
    m = memo(root)
    m.live = True
    assert m.record("a:plan", ["fresh", ["again"]], DEPS)
    assert m.get("a:plan") == ["fresh", ["again"]]


def test_answers_recorded_after_the_index_of_users_exists_are_voided_too(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    plan = root / "plans/a/plan.md"
    m = memo(root)
    m.live = True
    assert m.record("one", 1, ["plans/a/plan.md"])
    plan.write_text("# plan 2\n")
    age(plan)
    assert m.record("two", 2, ["plans/a/plan.md"])  # a new key: the index of users is built here
    assert m.record("three", 3, ["plans/a/plan.md"])  # added to that index
    plan.write_text("# plan 3\n")
    age(plan)
    assert m.record("four", 4, ["plans/a/plan.md"])
    assert m.get("two") is None and m.get("three") is None and m.get("four") == 4


def test_a_dependency_no_answer_uses_any_more_can_take_a_new_key(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    m.live = True
    assert m.record("x", 1, ["plans/a/brief.md"])
    assert m.record("x", 2, ["plans/a/plan.md"])  # brief.md's entry stays in the index, used by no answer
    (root / "plans/a/brief.md").write_text("# brief 2\n")
    age(root / "plans/a/brief.md")
    assert m.record("w", 3, ["plans/a/brief.md"])
    assert m.get("x") == 2 and m.get("w") == 3


def test_an_answer_voided_through_one_file_is_not_voided_twice(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = memo(root)
    m.live = True
    assert m.record("x", 1, ["plans/a/plan.md", "plans/a/brief.md"])
    (root / "plans/a/brief.md").write_text("# brief 2\n")
    age(root / "plans/a/brief.md")
    assert m.record("w", 2, ["plans/a/brief.md"])  # x goes, through brief.md
    (root / "plans/a/plan.md").write_text("# plan 2\n")
    age(root / "plans/a/plan.md")
    assert m.record("z", 3, ["plans/a/plan.md"])  # plan.md's users still name x: already gone
    assert m.get("x") is None and m.get("w") == 2 and m.get("z") == 3


@pytest.mark.parametrize(
    "data",
    [
        {"stamp": "s1", "paths": ["p"], "keys": [None], "entries": []},
        {"stamp": "s1", "paths": "p", "keys": [None], "entries": {}},
        {"stamp": "s1", "paths": ["p"], "keys": "k", "entries": {}},
        {"stamp": "s1", "paths": ["p"], "keys": [None, None], "entries": {}},
    ],
)
def test_a_memo_of_the_wrong_shape_is_an_empty_memo(tmp_path: Path, data: dict) -> None:
    root = workspace(tmp_path)
    (root / ".devloop").mkdir()
    (root / ".devloop" / FILE).write_text(json.dumps(data))
    m = memo(root)
    assert m.paths == [] and m.entries == {}


def count_stats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = verdicts.stat_text

    def counting(path: str) -> object:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(verdicts, "stat_text", counting)
    return seen


def test_while_no_step_runs_each_file_is_statted_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Condition 7, both ways: a no-op stats each file once; once a step may write, every answer stats afresh."""
    root = workspace(tmp_path)
    m = memo(root)
    assert m.record("a:plan", 1, DEPS) and m.record("a:review", 2, ["plans/a/plan.md", "plans/a/brief.md"])
    m.save()
    stats = count_stats(monkeypatch)
    assert m.get("a:plan") == 1 and stats == []  # what this process recorded it already knows
    m = memo(root)
    assert m.get("a:plan") == 1 and m.get("a:review") == 2 and m.get("a:plan") == 1
    assert sorted(stats) == sorted(f"{root}/{p}" for p in DEPS)  # three files, once each
    (root / "plans/a/plan.md").write_text("# changed after it was statted\n")
    assert m.get("a:plan") == 1  # this process already proved it: a run judges the tree as it found it
    m.live = True
    stats.clear()
    assert m.get("a:plan") is None and f"{root}/plans/a/plan.md" in stats
    stats.clear()
    assert m.get("a:review") is None and len(stats) >= 1


def test_after_a_step_other_features_plans_are_not_statted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = workspace(tmp_path)
    (root / "plans/b").mkdir()
    (root / "plans/b/plan.md").write_text("# b\n")
    age(root / "plans/b/plan.md")
    m = memo(root)
    assert m.record("b:plan", 1, ["plans/b/plan.md"]) and m.record("a:plan", 2, ["plans/a/plan.md"])
    assert m.get("b:plan") == 1 and m.get("a:plan") == 2
    m.live = True
    m.settle("a")
    assert m.live is False
    stats = count_stats(monkeypatch)
    assert m.get("b:plan") == 1 and m.get("a:plan") == 2
    assert stats == [f"{root}/plans/a/plan.md"]  # a's own folder may have changed; b's may not
    stats.clear()
    assert m.get("a:plan") == 2 and stats == []  # and it is kept in memory again


def test_the_memo_is_saved_once_in_its_format_even_into_a_new_state_folder(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    m = Verdicts(root, root / "deep" / "state", ("s1", True))
    assert m.record("a:plan", 1, DEPS)
    m.save()
    path = root / "deep" / "state" / FILE
    data = json.loads(path.read_text())
    assert data["format"] == verdicts.FORMAT and data["stamp"] == "s1"
    before = path.stat().st_ino
    m.save()  # nothing changed since: not written again
    assert path.stat().st_ino == before and m.dirty is False


def test_a_sweep_of_every_answer_vouches_exactly_for_those_whose_files_are_unchanged(tmp_path: Path) -> None:
    """The fast path stats each file once (``changed``), then asks per answer (``vouches``): as ``get`` would."""
    root = workspace(tmp_path)
    (root / "plans" / "b").mkdir()
    (root / "plans" / "b" / "plan.md").write_text("# b\n")
    age(root / "plans" / "b" / "plan.md")
    m = memo(root)
    assert m.record("a:plan", ["fresh", []], DEPS)
    assert m.record("b:plan", ["fresh", []], ["plans/b/plan.md"])
    m.save()
    (root / "plans" / "a" / "plan.md").write_text("# plan, edited\n")
    again = memo(root)
    changed = again.changed()
    assert [again.paths[i] for i in changed] == ["plans/a/plan.md"]
    assert not again.vouches("a:plan", changed) and again.get("a:plan") is None
    assert again.vouches("b:plan", changed) and again.get("b:plan") == ["fresh", []]
    assert not again.vouches("c:plan", changed)  # never kept
    for broken in ([["fresh", []], []], [["fresh", []], [99]], [["fresh", []], [-1]], ["fresh"], None):
        again.entries["x"] = broken  # type: ignore[assignment]
        assert not again.vouches("x", changed)
