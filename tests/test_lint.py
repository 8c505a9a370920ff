"""devloop.judging.lint: the mechanical plan/implementation boundary lint of plan.md."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devloop.judging.lint import APPLICATION_LANGUAGES, DECLARATIVE_LANGUAGES, Flag, info_word, lint_plan, render_flags

BT = "```"


def code(n: int, stmt: str = "x = compute(value)") -> str:
    return "".join(f"{stmt}  # {i}\n" for i in range(n))


def block(info: str, n: int, fence: str = BT, stmt: str = "x = compute(value)") -> str:
    return f"{fence}{info}\n{code(n, stmt)}{fence}\n"


def test_language_sets_are_disjoint_and_dockerfile_is_declarative() -> None:
    assert not APPLICATION_LANGUAGES & DECLARATIVE_LANGUAGES
    assert "dockerfile" in DECLARATIVE_LANGUAGES
    assert {"python", "c++", "r", "ps1"} <= APPLICATION_LANGUAGES


def test_flag_reports_fence_lines_language_and_size() -> None:
    text = "# Plan\n\nSome prose.\n\n" + block("python", 20) + "\nAfter.\n"
    [flag] = lint_plan(text)
    assert flag == Flag(
        start_line=5,
        end_line=26,
        language="python",
        lines=20,
        reason="a 20-line python block; describe it as contracts, behaviour, examples or tests instead",
    )


def test_threshold_boundary_exactly_max_is_not_flagged() -> None:
    assert lint_plan(block("python", 15)) == []
    assert [f.lines for f in lint_plan(block("python", 16))] == [16]
    assert lint_plan(block("go", 5), max_code_lines=5) == []
    assert len(lint_plan(block("go", 6), max_code_lines=5)) == 1


def test_blank_body_lines_do_not_count() -> None:
    body = "".join(f"x = {i}\n\n\n" for i in range(15))
    assert lint_plan(f"{BT}python\n{body}{BT}\n") == []
    [flag] = lint_plan(f"{BT}python\n{body}y = 1\n{BT}\n")
    assert flag.lines == 16
    assert flag.end_line == 48  # fence + 45 body lines + 1 + closing fence


def test_info_word_is_lowercased_and_cut_at_space_or_brace() -> None:
    assert info_word("Python title='x.py'") == "python"
    assert info_word("ts{.numberLines}") == "ts"
    assert info_word("  C++ ") == "c++"
    assert info_word("") == ""
    [flag] = lint_plan(block("TypeScript {linenos}", 16))
    assert flag.language == "typescript"


@pytest.mark.parametrize("language", sorted(DECLARATIVE_LANGUAGES))
def test_declarative_blocks_of_any_size_are_never_flagged(language: str) -> None:
    assert lint_plan(block(language, 500, stmt="def f(): return x;")) == []


def test_unknown_labelled_language_is_never_flagged() -> None:
    assert lint_plan(block("fortran", 200, stmt="def f(): return x;")) == []


def test_tilde_fences_are_blocks_too() -> None:
    text = "intro\n" + block("rust", 16, fence="~~~")
    [flag] = lint_plan(text)
    assert (flag.start_line, flag.end_line, flag.language) == (2, 19, "rust")


def test_backticks_do_not_close_a_tilde_fence() -> None:
    text = f"~~~python\n{code(10)}{BT}\n{code(10)}~~~\n"
    [flag] = lint_plan(text)
    assert (flag.start_line, flag.end_line, flag.lines) == (1, 23, 21)


def test_shorter_inner_fence_does_not_close_a_longer_one() -> None:
    inner = block("python", 40)
    text = f"````markdown\n{inner}````\n\n" + block("js", 16)
    flags = lint_plan(text)
    # the python inside the markdown example is part of that declarative block, not a block of its own
    assert [(f.language, f.start_line) for f in flags] == [("js", 46)]


def test_longer_fence_closes_a_shorter_one_and_info_on_fence_does_not_close() -> None:
    text = f"{BT}python\n{code(10)}{BT}sh\n{code(10)}`````\nprose\n"
    [flag] = lint_plan(text)
    assert (flag.start_line, flag.end_line, flag.lines) == (1, 23, 21)


def test_unclosed_fence_runs_to_end_of_text() -> None:
    text = "# Plan\n" + f"{BT}java\n" + code(30)
    [flag] = lint_plan(text)
    assert (flag.start_line, flag.end_line, flag.lines) == (2, 32, 30)
    assert lint_plan(f"{BT}java\n") == []


def test_several_blocks_each_get_their_own_lines() -> None:
    text = block("python", 16) + "prose\n" + block("sql", 30) + block("bash", 20)
    flags = lint_plan(text)
    assert [(f.language, f.start_line, f.end_line) for f in flags] == [("python", 1, 18), ("bash", 52, 73)]


def test_unlabelled_block_is_flagged_only_when_it_looks_like_code() -> None:
    prose_lines = "".join(f"step {i}: check the dashboard\n" for i in range(30))
    assert lint_plan(f"{BT}\n{prose_lines}{BT}\n") == []
    signals = "def handler(event):\n    return event\nimport os\n"
    [flag] = lint_plan(f"{BT}\n{signals}{prose_lines}{BT}\n")
    assert flag.language == ""
    assert flag.lines == 33
    assert "unlabelled" in flag.reason


def test_unlabelled_two_code_signals_are_not_enough() -> None:
    prose_lines = "".join(f"note {i}\n" for i in range(20))
    assert lint_plan(f"{BT}\ndef f():\nreturn 1\n{prose_lines}{BT}\n") == []
    assert len(lint_plan(f"{BT}\ndef f():\nreturn 1\nx => y\n{prose_lines}{BT}\n")) == 1


@pytest.mark.parametrize(
    "signal",
    ["func main() {", "public void run()", "#include <stdio.h>", "let x = 1;", "const f = () => 1", "class A:"],
)
def test_each_code_signal_counts(signal: str) -> None:
    body = f"{signal}\n" * 3 + "".join(f"note {i}\n" for i in range(20))
    assert len(lint_plan(f"{BT}\n{body}{BT}\n")) == 1


def test_unlabelled_json_objects_are_not_code() -> None:
    rows = "".join(f'  "key{i}": {{\n    "v": {i}\n  }},\n' for i in range(10))
    assert lint_plan(f"{BT}\n{{\n{rows}}}\n{BT}\n") == []


def test_long_unlabelled_but_under_threshold_is_not_flagged() -> None:
    assert lint_plan(f"{BT}\n" + "def f(): return 1;\n" * 15 + f"{BT}\n") == []


def test_render_flags() -> None:
    assert render_flags("plans/x/plan.md", []) == "No boundary problems found."
    text = block("python", 16) + block("bash", 20)
    out = render_flags("plans/x/plan.md", lint_plan(text))
    assert out.splitlines() == [
        "plans/x/plan.md:1-18: a 16-line python block; describe it as contracts, behaviour, examples or tests instead",
        "plans/x/plan.md:19-40: a 20-line bash block; describe it as contracts, behaviour, examples or tests instead",
    ]


def test_fence_with_leading_indent_in_a_list_item() -> None:
    body = "".join(f"    x = {i}\n" for i in range(16))
    [flag] = lint_plan(f"- step one:\n    {BT}python\n{body}    {BT}\n")
    assert (flag.start_line, flag.end_line) == (2, 19)


def test_inline_triple_backticks_in_prose_do_not_open_a_fence() -> None:
    text = f"Use {BT}x{BT} inline.\n{BT}`not a fence`\n" + block("python", 16)
    [flag] = lint_plan(text)
    assert flag.start_line == 3


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from([BT, "~~~", "````", BT + "python", "~~~sh", "def f():", "x;", "", "   ```c {x}"]),
        ),
        max_size=60,
    ),
    st.integers(min_value=0, max_value=20),
)
def test_random_text_never_raises(parts: list[str], limit: int) -> None:
    text = "\n".join(parts)
    flags = lint_plan(text, max_code_lines=limit)
    n_lines = len(text.splitlines())
    for f in flags:
        assert 1 <= f.start_line <= f.end_line <= max(n_lines, 1)
        assert f.lines > limit
    assert isinstance(render_flags("plan.md", flags), str)
