"""An author's key lists what git lists outside the loop's folders, plus its own feature's folder, without walking
every other feature's folder: the same set as the whole listing, filtered."""

from __future__ import annotations

from devloop.config.workspace import Workspace
from devloop.steps import change
from tests.conftest import WS


def test_the_author_listing_is_the_whole_listing_without_the_loop_s_other_folders(ws: WS) -> None:
    ws.add_feature("a")
    ws.add_feature("b")
    files = {
        "src/app.py": "print(1)\n", "src/deep/mod.py": "x = 1\n", ".gitignore": "ignored/\n*.log\n",
        "ignored/secret.txt": "no\n", "notes.log": "no\n", "README.md": "hi\n", ".env.example": "A=1\n",
        "plans/a/extra.md": "own\n", "plans/b/extra.md": "other\n", "runs/out.txt": "run\n",
        "weird name: x.txt": "odd\n", "*.txt": "a star\n",
    }  # fmt: skip
    for rel, text in files.items():
        (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / rel).write_text(text)
    ws.git("add", "src/app.py", ".gitignore", "README.md")
    w = Workspace(ws.root)
    whole = change.listing(w)
    assert whole is not None
    for feature in ("a", "b"):
        own = f"plans/{feature}/"
        want = {p for p in whole if not change.is_loop_file(p) or p.startswith(own)}
        got = change.listing_for_author(w, feature)
        assert got == want, got ^ want if got is not None else None
        assert "src/deep/mod.py" in got and "weird name: x.txt" in got and "*.txt" in got
        assert "ignored/secret.txt" not in got and "notes.log" not in got and "runs/out.txt" not in got
        other = "b" if feature == "a" else "a"
        assert f"plans/{feature}/extra.md" in got and not any(p.startswith(f"plans/{other}/") for p in got)
