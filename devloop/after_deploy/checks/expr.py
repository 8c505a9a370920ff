"""Check expressions and value templates, both in jinja2's immutable sandbox, never ``eval``.

Expressions (``n > 0``, ``status == 200 and "ok" in body``) are checked when
validation.md is parsed: syntax, length, nesting, no name or attribute
starting with ``_``, and only the filters, functions and methods listed
below, so a typo or a probe for ``__class__`` is a config error before
anything is deployed. At run time an undefined name, a sandbox refusal or a
result that is not exactly true/false is an :class:`ExprError`, which the
runner reports as ERROR: never a pass.

Evaluation is bounded, because validation.md is written by an agent:

- nothing is computed while compiling (jinja2's constant folding is off), and
  ``*``, ``**``, ``+`` and ``%`` are checked before they run: a sequence of at
  most MAX_ITEMS, an integer of at most MAX_INT_BITS, no ``%`` formatting;
- an expression made only of names, constants, comparisons, arithmetic,
  lookups and the cheap filters and methods (:data:`FAST_FILTERS`,
  :data:`FAST_METHODS`) costs at most linear time in what was observed, and
  runs in process (microseconds);
- anything else (other filters, ``range``, lists built at run time, ``~``)
  runs in a forked child with a deadline (EVAL_TIMEOUT) and an address-space
  limit (EVAL_MEMORY), killed when either runs out.
"""

from __future__ import annotations

import functools
import math
import os
import pickle
import select
import signal
import time
import types
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.parser import Parser
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from devloop.runtime.errors import ConfigError

try:  # POSIX only: elsewhere the child runs without a memory limit, still under its deadline
    import resource
except ImportError:  # pragma: no cover
    resource = None  # type: ignore[assignment]

MAX_EXPR_CHARS = 500
MAX_DEPTH = 64  # nesting of the syntax tree: `a and b and ...` nests once per `and`
MAX_ITEMS = 2_000_000  # characters or items one `*` or `+` may build (a 1 MB body doubled fits)
MAX_INT_BITS = 100_000  # an integer one `*` or `**` may build (about 30,000 digits)
EVAL_TIMEOUT = 1.0  # seconds an expression outside the fast subset may take, in its child
EVAL_MEMORY = 256 * 2**20  # bytes of address space that child may add
MAX_RESULT_BYTES = 4 * 2**20  # what that child may send back
TEMPLATE_NAMES = frozenset({"today", "yesterday", "now", "deploy_time", "feature", "version"})
WINDOW_NAMES = frozenset({"window_start", "window_end"})

# Linear in their input and never larger than it (give or take a constant): safe in process.
FAST_FILTERS = frozenset(
    {"abs", "capitalize", "count", "d", "default", "first", "float", "int", "last", "length", "lower", "string"}
    | {"title", "trim", "upper", "wordcount"}
)
# Bounded by the sequences they get (sorting, mapping); run in the child. Anything else (center, format,
# indent, batch, slice, wordwrap, random, lipsum, ...) builds arbitrarily much from a small argument: refused.
FILTERS = FAST_FILTERS | frozenset(
    {"attr", "dictsort", "e", "escape", "groupby", "items", "join", "list", "map", "max", "min", "reject"}
    | {"rejectattr", "replace", "reverse", "round", "select", "selectattr", "sort", "sum", "tojson", "truncate"}
    | {"unique", "urlencode"}
)
FAST_METHODS = frozenset(
    {"capitalize", "casefold", "count", "endswith", "find", "get", "isalnum", "isalpha", "isdigit", "islower"}
    | {"isspace", "isupper", "lower", "lstrip", "removeprefix", "removesuffix", "rfind", "rstrip", "startswith"}
    | {"strip", "title", "upper"}
)
METHODS = FAST_METHODS | frozenset(
    {"index", "isdecimal", "isnumeric", "items", "keys", "partition", "rindex", "rpartition", "rsplit", "split"}
    | {"splitlines", "values"}
)
FUNCTIONS: dict[str, Any] = {"range": safe_range, "dict": dict}
_SEQUENCES = (str, bytes, list, tuple)
_FAST_NODES = (
    nodes.Name, nodes.Const, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos,
    nodes.CondExpr, nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div,
    nodes.FloorDiv, nodes.Mod, nodes.Pow, nodes.Test, nodes.Filter, nodes.Call, nodes.Keyword, nodes.List,
    nodes.Tuple,
)  # fmt: skip
_NODES = (*_FAST_NODES, nodes.Concat, nodes.Dict, nodes.Pair)
_STOPS = {signal.SIGINT, signal.SIGTERM}


class ExprError(Exception):
    """An expression or template could not be evaluated (the check is an ERROR)."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox with size-checked operators and allow-listed callables."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def is_safe_callable(self, obj: Any) -> bool:
        """Our functions, and the listed methods of plain strings and containers; nothing else."""
        if any(obj is f for f in FUNCTIONS.values()):
            return True
        owner = getattr(obj, "__self__", None)
        return (
            isinstance(obj, types.BuiltinMethodType)
            and type(owner) in (str, dict, list, tuple)
            and getattr(obj, "__name__", "") in METHODS
        )


def _make_env() -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, optimized=False)  # optimized folds constants
    env.filters = {name: f for name, f in DEFAULT_FILTERS.items() if name in FILTERS}
    env.globals = dict(FUNCTIONS)
    return env


_ENV = _make_env()


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse, before computing it, a result too large to be a reasonable check value."""
    if operator == "%" and isinstance(left, str | bytes):
        raise SecurityError("string formatting with % is not allowed in expressions")
    if operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _items(len(left) + len(right), operator)
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(times, int):
                _items(len(seq) * max(times, 0), operator)
        if isinstance(left, int) and isinstance(right, int):
            _bits(left.bit_length() + right.bit_length(), operator)
    if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        _bits(right if right.bit_length() > 62 else math.ceil(math.log2(abs(left)) * right), operator)


def _items(n: int, operator: str) -> None:
    if n > MAX_ITEMS:
        raise SecurityError(f"{operator!r} would build {_count(n)} items or characters (limit {MAX_ITEMS:,})")


def _bits(n: int, operator: str) -> None:
    if n > MAX_INT_BITS:
        raise SecurityError(f"{operator!r} would build an integer of {_count(n)} bits (limit {MAX_INT_BITS:,})")


def _count(n: int) -> str:
    """A readable size, even for a number too long to print."""
    return f"{n:,}" if n < 10**15 else f"about 2**{n.bit_length() - 1}"


class Expr:
    """A compiled expression; calling it with the observed names returns its raw value."""

    def __init__(self, text: str, names: frozenset[str], fast: bool = False) -> None:
        self.text = text
        self.names = names  # the names it reads, to show them in the result line
        self.fast = fast  # provably cheap: evaluated in process; otherwise in a limited child
        self._fn = _ENV.compile_expression(text, undefined_to_none=False)

    def __call__(self, values: Mapping[str, Any], timeout: float = EVAL_TIMEOUT) -> Any:
        """The value, or ExprError; beyond the fast subset, within ``timeout`` seconds and EVAL_MEMORY."""
        if not self.fast:
            return _in_child(lambda: _evaluate(self._fn, values), timeout)
        try:
            return _evaluate(self._fn, values)
        except MemoryError:
            raise ExprError("the expression ran out of memory") from None

    def truth(self, values: Mapping[str, Any], timeout: float = EVAL_TIMEOUT) -> bool:
        """True or False; anything else (a number, a string, None) is an ExprError."""
        result = self(values, timeout)
        if not isinstance(result, bool):
            raise ExprError(f"the expression gave {type(result).__name__} {_short(result)}, not true/false")
        return result


def _evaluate(fn: Callable[..., Any], values: Mapping[str, Any]) -> Any:
    try:
        result = fn(**values)
    except TemplateError as exc:  # UndefinedError, SecurityError
        raise ExprError(f"{type(exc).__name__}: {exc}") from None
    except MemoryError:
        raise  # the caller knows which limit it was
    except Exception as exc:  # comparing None with 0, dividing by zero: the data, not a pass
        raise ExprError(f"{type(exc).__name__}: {exc}") from None
    if isinstance(result, Undefined):
        raise ExprError(f"{result._undefined_name!r} is undefined")
    return result


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a huge int has no repr (4300-digit limit)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 200 else text[:197] + "..."


# -- the child -------------------------------------------------------------------
def _in_child(fn: Callable[[], Any], timeout: float) -> Any:
    """``fn()`` in a forked child with a deadline and a memory limit; killed when either runs out."""
    if not hasattr(os, "fork"):
        raise ExprError("this expression can only be evaluated where os.fork exists; use a simpler one")
    read_end, write_end = os.pipe()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)  # a Ctrl-C is the parent's to handle
    try:
        pid = os.fork()
        if pid == 0:
            _child(fn, read_end, write_end, mask)  # never returns
    except OSError as exc:
        os.close(read_end)
        raise ExprError(f"cannot start the evaluation: {exc}") from None
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(write_end)
    try:
        data = _collect(read_end, time.monotonic() + timeout)
    finally:
        os.close(read_end)
        status = _reap(pid)
    if data is None:
        raise ExprError(f"the expression did not finish within {timeout:g}s (stopped)")
    if not data:
        how = f"signal {signal.Signals(-status).name}" if status < 0 else f"exit {status}"
        raise ExprError(f"the expression's evaluation died ({how})")
    outcome, payload = pickle.loads(data)
    if outcome == "error":
        raise ExprError(payload)
    return payload


def _child(fn: Callable[[], Any], read_end: int, write_end: int, mask: Any) -> None:
    """Evaluate, send ``(outcome, payload)`` pickled, exit without running any of the parent's cleanup."""
    try:
        os.close(read_end)
        _close_others(write_end)
        for sig in _STOPS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _limit_memory()
        try:
            outcome: tuple[str, Any] = ("value", fn())
        except ExprError as exc:
            outcome = ("error", str(exc))
        except MemoryError:
            outcome = ("error", f"the expression needed more than {EVAL_MEMORY // 2**20} MB (stopped)")
        except BaseException as exc:
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        view = memoryview(_dumps(outcome))
        while view:
            view = view[os.write(write_end, view) :]
    finally:
        os._exit(0)


def _close_others(keep: int) -> None:
    """Close every descriptor but stdio and ``keep``: a sibling child must not hold our pipe open (nor sockets)."""
    try:
        top = os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        top = 65536
    os.closerange(3, keep)
    os.closerange(keep + 1, max(top, keep + 1))


def _dumps(outcome: tuple[str, Any]) -> bytes:
    try:
        data = pickle.dumps(outcome)
    except Exception:
        data = b""
    if not data or len(data) > MAX_RESULT_BYTES:
        value = outcome[1]
        data = pickle.dumps(("error", f"the expression gave {type(value).__name__} {_short(value)}, not true/false"))
    return data


def _limit_memory() -> None:
    """Cap the child's address space at what it has now plus EVAL_MEMORY (Linux; a no-op where unknown)."""
    if resource is None:
        return
    try:
        with open("/proc/self/statm") as fh:
            now = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = now + EVAL_MEMORY if hard == resource.RLIM_INFINITY else min(hard, now + EVAL_MEMORY)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError):
        pass


def _collect(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes, or None when the deadline passes first."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESULT_BYTES + 4096:  # the child caps what it sends: more is not from it
            return None
        chunks.append(chunk)


def _reap(pid: int) -> int:
    """Kill the child if it still runs and collect it; its exit code, or minus the signal that ended it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return 0
    return os.waitstatus_to_exitcode(status)


# -- compiling and vetting --------------------------------------------------------
def compile_expr(text: str) -> Expr:
    """Parse and vet ``text``; ConfigError on syntax, length, nesting, ``_`` names or what it may not call.

    An Expr is immutable and depends on nothing but ``text``, so each text is
    compiled once per process (a refused one is refused again every time).
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("the expression is empty")
    if len(text) > MAX_EXPR_CHARS:
        raise ConfigError(f"the expression is longer than {MAX_EXPR_CHARS} characters")
    return _compile(str(text))


@functools.lru_cache(maxsize=1024)
def _compile(text: str) -> Expr:
    try:
        parser = Parser(_ENV, text, state="variable")
        node = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression", parser.stream.current.lineno)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"expression {text!r} does not parse: {exc.message}") from None
    except RecursionError:
        raise ConfigError(f"expression {text!r} is nested more than {MAX_DEPTH} levels deep") from None
    _vet(node, text)
    return Expr(text, frozenset(n.name for n in _walk(node, nodes.Name)), fast=_fast(node))


def check_template(text: str, allowed: frozenset[str] = TEMPLATE_NAMES | WINDOW_NAMES) -> set[str]:
    """The context names a value template reads; ConfigError unless it parses and reads only known names."""
    if "{" not in text:
        return set()
    ast = _template_ast(text)
    unknown = meta.find_undeclared_variables(ast) - allowed
    if unknown:
        raise ConfigError(
            f"template {text!r} uses {', '.join(sorted(unknown))}; available: {', '.join(sorted(allowed))}"
        )
    return set(meta.find_undeclared_variables(ast))


def render(text: str, context: Mapping[str, Any]) -> str:
    """``text`` with its ``{{ ... }}`` filled from ``context``; a missing name is an ExprError."""
    if "{" not in text:
        return text
    try:
        return _template(text).render({k: v for k, v in context.items() if v is not None})
    except ConfigError as exc:
        raise ExprError(str(exc)) from None
    except TemplateError as exc:
        raise ExprError(f"template {text!r}: {exc}") from None


def _template_ast(text: str) -> nodes.Template:
    """Parsed and vetted: only text and ``{{ }}`` of the fast subset, which renders in process."""
    try:
        ast = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"template {text!r} does not parse: {exc.message}") from None
    except RecursionError:
        raise ConfigError(f"template {text!r} is nested more than {MAX_DEPTH} levels deep") from None
    for output in ast.body:
        if not isinstance(output, nodes.Output):
            raise ConfigError(f"template {text!r}: only {{{{ ... }}}} substitutions are allowed, not {{% ... %}}")
        for child in output.nodes:
            if not isinstance(child, nodes.TemplateData):
                _vet(child, text)
                if not _fast(child):
                    raise ConfigError(f"template {text!r} is too elaborate: use names, text and simple filters")
    return ast


@functools.lru_cache(maxsize=256)
def _template(text: str) -> Any:
    """Vetted again at run time (a template may not have come through check_template), compiled once."""
    return _ENV.from_string(_template_ast(text))


def _walk(node: nodes.Node, types: Any) -> list[Any]:
    """The node itself (find_all skips it) and every descendant of the given types."""
    return ([node] if isinstance(node, types) else []) + list(node.find_all(types))


def _depth(node: nodes.Node, limit: int = MAX_DEPTH) -> int:
    """Nesting depth, giving up past ``limit`` so a hostile tree cannot exhaust the stack here either."""
    if limit <= 0:
        return 1
    return 1 + max((_depth(c, limit - 1) for c in node.iter_child_nodes()), default=0)


def _vet(node: nodes.Node, text: str) -> None:
    """Refuse deep nesting, private names and anything not on the allow-lists, before compiling."""
    if _depth(node) > MAX_DEPTH:
        raise ConfigError(f"{text!r} is nested more than {MAX_DEPTH} levels deep")
    for n in _walk(node, nodes.Node):
        if not isinstance(n, _NODES):
            raise ConfigError(f"{text!r} uses {type(n).__name__}, which expressions may not use")
        if isinstance(n, nodes.Filter) and n.name not in FILTERS:
            raise ConfigError(f"{text!r} uses the filter {n.name!r}; allowed: {', '.join(sorted(FILTERS))}")
        if isinstance(n, nodes.Test) and n.name not in _ENV.tests:
            raise ConfigError(f"{text!r} uses the unknown test {n.name!r}")
        if isinstance(n, nodes.Call | nodes.Filter | nodes.Test) and (n.dyn_args or n.dyn_kwargs):
            raise ConfigError(f"{text!r} passes *args or **kwargs, which expressions may not use")
        if isinstance(n, nodes.Call):
            _vet_call(n, text)
        _vet_private(n, text)


def _vet_call(call: nodes.Call, text: str) -> None:
    """A call is one of FUNCTIONS, or a METHODS method of a value (checked on the object again at run time)."""
    callee = call.node
    if isinstance(callee, nodes.Name) and callee.name in FUNCTIONS:
        return
    if isinstance(callee, nodes.Getattr) and callee.attr in METHODS:
        return
    what = callee.name if isinstance(callee, nodes.Name) else getattr(callee, "attr", type(callee).__name__)
    raise ConfigError(
        f"{text!r} calls {what!r}; expressions may call only {', '.join(sorted(FUNCTIONS))} and the plain "
        "string and dict methods that read (startswith, strip, split, get, ...)"
    )


def _vet_private(n: nodes.Node, text: str) -> None:
    """Refuse private names and attributes outright instead of relying on the run-time sandbox."""
    word = getattr(n, "name", None) if isinstance(n, nodes.Name) else getattr(n, "attr", None)
    if isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Const):
        word = n.arg.value
    if isinstance(n, nodes.Const):
        word = n.value if isinstance(n.value, str) and n.value.startswith("__") else None
    if isinstance(word, str) and word.startswith("_"):
        raise ConfigError(f"{text!r} uses {word!r}: names starting with '_' are not allowed")


def _fast(node: nodes.Node) -> bool:
    """Cheap by construction: every step is linear in its operands and none builds more than it was given."""
    for n in _walk(node, nodes.Node):
        if not isinstance(n, _FAST_NODES):
            return False
        if isinstance(n, nodes.Filter) and n.name not in FAST_FILTERS:
            return False
        if isinstance(n, nodes.Call) and not (isinstance(n.node, nodes.Getattr) and n.node.attr in FAST_METHODS):
            return False
        if isinstance(n, nodes.List | nodes.Tuple) and not all(isinstance(i, nodes.Const) for i in n.items):
            return False
    return True
