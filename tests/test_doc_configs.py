"""Every devloop.yaml the documentation shows, and the one `devloop init` writes, passes `devloop config check`.

A fenced ``yaml`` block in README.md or docs/**/*.md with a top-level ``agents:`` key is a whole
devloop.yaml: it is written into an empty folder and checked by the real CLI. A block that is
deliberately a fragment says so on its first line with the comment ``# fragment``
(none does today; prefer a whole configuration).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEVLOOP = Path(sys.executable).parent / "devloop"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\s`]*)")
FRAGMENT = "# fragment"


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def yaml_blocks(path: Path) -> list[Block]:
    """Fenced yaml/yml blocks of a Markdown file (indented fences, as in lists, included)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].lower()
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence[0] * len(fence)):
            j += 1
        if info in ("yaml", "yml"):
            body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : j]]
            out.append(Block(path, i + 1, "\n".join(body) + "\n"))
        i = j + 1
    return out


def documented_configs() -> list[Block]:
    files = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    blocks = [b for f in files for b in yaml_blocks(f)]
    return [
        b for b in blocks if re.search(r"^agents:", b.text, re.MULTILINE) and not b.text.lstrip().startswith(FRAGMENT)
    ]


def config_check(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(folder)}
    return subprocess.run(
        [str(DEVLOOP), "config", "check"], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_finder_sees_the_documented_configurations() -> None:
    """The finder itself: it finds the guides' blocks (a broken finder would make the next test pass vacuously)."""
    where = {b.where.split(":")[0] for b in documented_configs()}
    assert {"README.md", "docs/agents/openai-proxy.md", "docs/agents/claude.md"} <= where, where


def test_the_finder_reads_indented_fences_and_skips_other_languages(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "text\n\n```sh\nagents: not yaml\n```\n\n- a list item:\n\n  ```yaml\n  agents:\n    a: {kind: manual}\n  ```\n"
    )
    blocks = yaml_blocks(doc)
    assert [(b.line, b.text) for b in blocks] == [(9, "agents:\n  a: {kind: manual}\n")]


@pytest.mark.parametrize("block", documented_configs(), ids=lambda b: b.where)
def test_documented_configuration_passes_config_check(block: Block, tmp_path: Path) -> None:
    (tmp_path / "devloop.yaml").write_text(block.text, encoding="utf-8")
    r = config_check(tmp_path)
    assert r.returncode == 0, f"{block.where}: the devloop.yaml shown there fails `devloop config check`:\n{r.stderr}"
    assert ": ok (" in r.stdout


def test_config_check_refuses_what_the_proxy_guide_once_showed(tmp_path: Path) -> None:
    """The check is real: the guide's old block (a YAML alias) is refused, so the test above can fail."""
    (tmp_path / "devloop.yaml").write_text(
        "agents:\n  a: &proxy {kind: openai, base_url: 'http://localhost:4000/v1', model: m}\n"
        "  b: {<<: *proxy, model: n}\n"
    )
    r = config_check(tmp_path)
    assert r.returncode == 3 and "aliases (*proxy) are not accepted here" in r.stderr


def _init(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    env = {**os.environ, "HOME": str(tmp_path)}
    r = subprocess.run([str(DEVLOOP), "init"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return folder / "devloop.yaml"


def uncomment_agent(text: str, name: str) -> str:
    """The commented example agent ``name`` under ``agents:``, uncommented; everything else unchanged."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if re.match(rf"  # {re.escape(name)}:", line))
    end = start + 1
    while end < len(lines) and lines[end].startswith("  #   "):
        end += 1
    for i in range(start, end):
        lines[i] = "  " + lines[i][4:]
    return "".join(lines)


def test_init_writes_a_valid_config_showing_an_openai_agent(tmp_path: Path) -> None:
    config = _init(tmp_path)
    text = config.read_text()
    assert "kind: openai" in text and "docs/agents/openai-proxy.md" in text
    r = config_check(config.parent)
    assert r.returncode == 0, r.stderr
    assert "ok (1 agent)" in r.stdout  # only the built-in `me`: every example is a comment

    config.write_text(uncomment_agent(text, "proxy"))
    r = config_check(config.parent)
    assert r.returncode == 0, f"{config.read_text()}\n{r.stderr}"
    assert "ok (2 agents)" in r.stdout
    # the uncommented agent is the openai one with its fields read: doctor names its key variable and server
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("LITELLM_API_KEY", None)
    r = subprocess.run(
        [str(DEVLOOP), "doctor", "--json"], cwd=config.parent, env=env, capture_output=True, text=True, timeout=120
    )
    proxy = json.loads(r.stdout)["agents"]["proxy"]
    assert proxy["kind"] == "openai" and proxy["detail"] == "environment variable LITELLM_API_KEY is not set"

    # and the other commented examples parse too
    config.write_text(uncomment_agent(uncomment_agent(config.read_text(), "claude"), "recorded"))
    r = config_check(config.parent)
    assert r.returncode == 0 and "ok (4 agents)" in r.stdout, f"{config.read_text()}\n{r.stderr}"
