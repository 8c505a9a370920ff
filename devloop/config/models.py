"""The schema of devloop.yaml. Unknown keys are errors, never ignored."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from devloop.config.independence import Conflict, conflicts
from devloop.config.names import feature_name_problem, is_agent_name
from devloop.config.presets import PRESETS


def _off_is_a_word(value: object) -> object:
    """``sandbox: off`` reads as the boolean false in YAML 1.1: it means the word."""
    return "off" if value is False else value


SandboxMode = Annotated[Literal["auto", "bubblewrap", "off"], BeforeValidator(_off_is_a_word)]


def _outside_place(place: str) -> str:
    """A folder agents' programs may write: absolute or below a home folder (``~``), never relative. A relative
    path would be taken from whichever folder a command runs in, so the sandbox and the answer cache's trust
    could each read it as a different folder."""
    if not place.startswith(("/", "~")):
        raise ValueError(f"{place!r} is relative; write an absolute path or one below ~ (e.g. ~/.mytool)")
    return place


WritablePlace = Annotated[str, AfterValidator(_outside_place)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CommandAgentConfig(_Strict):
    """Any CLI: prompt on stdin or in ``{prompt_file}``, answer on stdout or in ``{output_file}``.

    ``preset`` names a known CLI (codex, claude, gemini, opencode, llm, aider)
    whose flags, answer format and failure signatures devloop knows; ``argv``
    runs anything else.
    """

    kind: Literal["command"]
    preset: str | None = Field(None, description="A known CLI: " + ", ".join(sorted(PRESETS)) + ".")
    argv: list[str] | None = Field(
        None, min_length=1, description="Program and arguments; may use {prompt_file}, {output_file}, {model}."
    )
    args: list[str] = Field(default_factory=list, description="Extra arguments appended to a preset's command.")
    prompt: Literal["stdin", "file"] = "stdin"
    output: Literal["stdout", "file"] = "stdout"
    answer: Literal["files", "text"] | None = Field(
        None,
        description="As an author: files (the CLI edits the workspace itself) or text (it prints ```file=<path> "
        "blocks that devloop writes). Defaults to what the preset does, else files.",
    )
    model: str | None = None
    timeout: float = Field(600, gt=0, le=86_400, description="Seconds before the whole process group is killed.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra variables set for the agent.")
    env_allow: list[str] = Field(
        default_factory=list, description="Names passed through from devloop's own environment."
    )
    sandbox: SandboxMode | None = Field(
        None, description="auto, bubblewrap or off for this agent; unset: the workspace's `sandbox`."
    )
    writable: list[WritablePlace] = Field(
        default_factory=list,
        description="Folders outside the workspace this agent may write besides `sandbox_writable` (e.g. ~/.mytool).",
    )

    @model_validator(mode="after")
    def _placeholders_match(self) -> CommandAgentConfig:
        if (self.preset is None) == (self.argv is None):
            raise ValueError("give either preset (a known CLI) or argv (any command), not both or neither")
        if self.preset is not None:
            if self.preset not in PRESETS:
                raise ValueError(f"unknown preset {self.preset!r}; known: {', '.join(sorted(PRESETS))}")
            return self
        joined = " ".join(self.argv or [])
        if self.prompt == "file" and "{prompt_file}" not in joined:
            raise ValueError("prompt: file needs a {prompt_file} placeholder in argv")
        if self.output == "file" and "{output_file}" not in joined:
            raise ValueError("output: file needs an {output_file} placeholder in argv")
        return self


class OpenAIAgentConfig(_Strict):
    """Any OpenAI-compatible chat-completions endpoint (LiteLLM proxy, vLLM, Ollama, llama.cpp server)."""

    kind: Literal["openai"]
    base_url: str = Field(description="e.g. http://localhost:4000/v1 (the path before /chat/completions).")
    model: str
    api_key_env: str | None = Field(None, description="NAME of the environment variable holding the API key.")
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    system: str | None = Field(None, description="Optional system message sent before every prompt.")
    timeout: float = Field(600, gt=0, le=86_400, description="Seconds per HTTP request.")
    max_retries: int = Field(
        3, ge=0, le=10, description="Extra attempts on 429, 5xx, timeouts and refused connections."
    )
    backoff: float = Field(1.0, ge=0, description="Base of the exponential backoff, in seconds.")
    retry_budget: float = Field(
        90,
        ge=0,
        le=86_400,
        description="Most seconds one call spends waiting between retries, whatever the server asks "
        "(Retry-After, retry-after-ms, x-ratelimit-reset-*); long enough for a per-minute rate limit.",
    )
    retry_timeouts: bool | None = Field(
        None,
        description="Retry an attempt that timed out (the server may still be working on, and billing, it). "
        "Unset: judges once, authors never.",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return url.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, name: str | None) -> str | None:
        if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError("api_key_env is the NAME of an environment variable (e.g. LITELLM_API_KEY), not the key")
        return name


class ManualAgentConfig(_Strict):
    """A human: devloop writes the prompt to a file and waits for the artifact."""

    kind: Literal["manual"]
    model: None = None


class ReplayAgentConfig(_Strict):
    """Answers from recorded files (offline demo, tests)."""

    kind: Literal["replay"]
    dir: str = Field(description="Folder of recorded answers, relative to the workspace.")
    model: str | None = None


AgentConfig = Annotated[
    CommandAgentConfig | OpenAIAgentConfig | ManualAgentConfig | ReplayAgentConfig,
    Field(discriminator="kind"),
]

SINGLE_ROLES = ("planner", "plan_reviewer", "implementer", "verifier", "gcp_reviewer", "triage", "evaluator")
LIST_ROLES = ("red_team", "implementer_rotation", "reviewers", "adhoc")


class Roles(_Strict):
    """Which configured agent plays each role of the loop."""

    planner: str = "me"
    plan_reviewer: str = "me"
    red_team: list[str] = Field(default_factory=lambda: ["me"])
    implementer: str = "me"
    implementer_rotation: list[str] = Field(default_factory=list)
    reviewers: list[str] = Field(default_factory=lambda: ["me"], min_length=1)
    adhoc: list[str] = Field(default_factory=list)
    verifier: str = "me"
    gcp_reviewer: str = "me"
    triage: str = "me"
    evaluator: str = "me"


Severity = Literal["P0", "P1", "P2", "P3"]
RISK_TAGS = ["distributed", "iam", "data-destruction", "concurrency", "blast-radius"]


class PlanReviewPolicy(_Strict):
    max_rounds: int = Field(2, ge=1, le=20, description="Review rounds before escalating to a human gate.")
    lint_max_code_lines: int = Field(
        15, ge=1, description="Application-language code blocks in plan.md longer than this are flagged."
    )


class RedTeamPolicy(_Strict):
    when: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: run when plan.md's front matter has a matching risk tag (or the feature asks)."
    )
    risk_tags: list[str] = Field(default_factory=lambda: list(RISK_TAGS))
    retries: int = Field(1, ge=0, le=3, description="Extra attempts for a team that did not answer.")


class CodeReviewPolicy(_Strict):
    """The Production-Grade cycle; defaults are seed 000's rules."""

    max_cycles: int = Field(3, ge=1, le=20, description="Review/fix cycles before escalating to a human gate.")
    quorum: int | Literal["all"] = Field(
        "all", description="PRODUCTION GRADE votes (or P3-only) needed to pass; 'all' = every reviewer."
    )
    fix: list[Severity] = Field(
        default_factory=lambda: ["P0", "P1", "P2"], description="Confirmed severities the implementer must fix."
    )
    recheck: Literal["full", "raisers"] = Field(
        "full", description="After a fix: every reviewer reviews again (full) or only those not yet satisfied."
    )
    retries: int = Field(1, ge=0, le=3, description="Extra attempts for a reviewer that did not run.")
    substitute: bool = Field(True, description="Replace a reviewer that still did not run from roles.adhoc.")
    stall_at: int = Field(2, ge=1, description="This many reviewers down in one cycle is a hard stall.")
    verify: bool = Field(True, description="Ask roles.verifier to confirm or reject each claim.")


class GateConfig(_Strict):
    """A local gate with its own allowance of environment variables."""

    argv: list[str] = Field(min_length=1, description="The command, e.g. [pytest, -q].")
    name: str | None = Field(
        None, description="How results and logs call it; defaults to the program's name. Same pattern as agents."
    )
    env_allow: list[str] = Field(
        default_factory=list, description="Variables this gate receives besides PATH, HOME and the locale."
    )

    @model_serializer(mode="wrap")
    def _short_form(self, handler: Any) -> Any:
        """A plain gate dumps as its argv list, as written, so configs (and step fingerprints) stay as they were."""
        data = handler(self)
        return data["argv"] if self.name is None and not self.env_allow else data

    @field_validator("name")
    @classmethod
    def _name(cls, name: str | None) -> str | None:
        if name is not None and not is_agent_name(name):
            raise ValueError(
                f"{name!r} is not a gate name (lower case letters, digits, - and _, at most 64); it becomes a file name"
            )
        return name


class ImplementPolicy(_Strict):
    gates: list[GateConfig] = Field(
        default_factory=list,
        description="Local gate commands run after the implementer: argv lists, e.g. [[pytest, -q]], or "
        "{argv: [...], name: ..., env_allow: [NAME]}. They run the implementer's code with an allow-listed "
        "environment.",
    )
    gate_timeout: float = Field(900, gt=0, le=86_400, description="Seconds each local gate may run.")
    gate_retries: int = Field(
        1,
        ge=0,
        le=5,
        description="More tries the implementer gets, with the failing gates' output, before the step fails.",
    )
    env_allow: list[str] = Field(
        default_factory=list, description="Variables every gate receives besides PATH, HOME and the locale."
    )

    @field_validator("gates", mode="before")
    @classmethod
    def _lists_are_argv(cls, gates: object) -> object:
        """``[pytest, -q]`` is short for ``{argv: [pytest, -q]}``."""
        if isinstance(gates, list):
            return [{"argv": g} if isinstance(g, list) else g for g in gates]
        return gates

    @field_validator("gates")
    @classmethod
    def _unique_names(cls, gates: list[GateConfig]) -> list[GateConfig]:
        named = [g.name for g in gates if g.name]
        if twice := sorted({n for n in named if named.count(n) > 1}):
            raise ValueError(f"gate name {', '.join(twice)} used twice; each gate needs its own")
        return gates


class DeployReviewPolicy(_Strict):
    when: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: when deploy/<feature>/ exists and the plan has risk tags or the deploy changes IAM."
    )


class SmokePolicy(_Strict):
    required: Literal["auto", "always", "never"] = Field(
        "auto",
        description="auto: evaluation waits for a passing smoke run when there are checks or deploy artifacts.",
    )
    script_timeout: float = Field(600, gt=0, le=86_400, description="Seconds scripts/smoke/<feature>.sh may run.")
    env_allow: list[str] = Field(
        default_factory=list,
        description="Variables the smoke script and command checks receive besides PATH, HOME and the locale "
        "(e.g. GOOGLE_APPLICATION_CREDENTIALS). A check in validation.md cannot widen this.",
    )
    max_round_trips: int = Field(3, ge=1, le=20, description="Failed smoke runs routed back before a human decides.")


class DeployConfig(_Strict):
    """Commands devloop may run around a deploy. Only these run; never a command from an agent's answer."""

    command: list[str] | None = Field(None, description="Runs the deploy for `devloop deploy <feature>`.")
    rollback: list[str] | None = Field(None, description="Runs when a rollback trigger fires.")
    timeout: float = Field(1800, gt=0, le=86_400)


class StepPolicies(_Strict):
    plan_review: PlanReviewPolicy = PlanReviewPolicy()
    red_team: RedTeamPolicy = RedTeamPolicy()
    implement: ImplementPolicy = ImplementPolicy()
    code_review: CodeReviewPolicy = CodeReviewPolicy()
    deploy_review: DeployReviewPolicy = DeployReviewPolicy()
    smoke: SmokePolicy = SmokePolicy()


class FeatureConfig(_Strict):
    paths: list[str] = Field(default_factory=list, description="Globs of the feature's code, reviewed with it.")
    red_team: bool | None = Field(None, description="Force the red team on (true) or off (false) for this feature.")
    deploy: DeployConfig | None = Field(None, description="Overrides the top-level deploy commands for this feature.")

    @field_validator("paths")
    @classmethod
    def _relative_globs(cls, paths: list[str]) -> list[str]:
        for p in paths:
            if PurePosixPath(p).is_absolute() or ".." in PurePosixPath(p).parts:
                raise ValueError(f"path glob {p!r} must be relative and stay inside the workspace")
        return paths


class GcpConfig(_Strict):
    """Where GCP checks run: production, a staging project, or a local emulator."""

    project: str | None = Field(None, description="Project id for BigQuery jobs and Logging reads.")
    location: str | None = Field(None, description="BigQuery job location, e.g. US or europe-west1.")
    credentials: Literal["adc", "anonymous"] = Field(
        "adc", description="adc: Application Default Credentials; anonymous: emulators and tests."
    )
    bigquery_endpoint: str | None = Field(None, description="e.g. http://127.0.0.1:9050 for an emulator.")
    logging_endpoint: str | None = Field(None, description="e.g. http://127.0.0.1:8085 for a local server.")
    max_bytes_billed: int = Field(1_000_000_000, ge=1, description="Default cap for every BigQuery check.")
    query_timeout: float = Field(
        120, ge=1, le=86_400, description="Seconds a BigQuery or Logging check may take, all requests together."
    )


class RollupConfig(_Strict):
    every: int = Field(10, ge=1, description="A roll-up is due after this many new evaluations...")
    monthly: bool = Field(True, description="...or when the month turned since the last one.")


class ChecksConfig(_Strict):
    """What validation.md's checks may do beyond reading; validation.md is agent-written, this file is not."""

    http_methods: list[Literal["POST", "PUT", "PATCH", "DELETE"]] = Field(
        default_factory=list,
        description="Methods besides GET and HEAD an http check may use, e.g. [POST]. Empty: http checks only read.",
    )


class IndependenceConfig(_Strict):
    same_seat: Literal["refuse", "warn"] = Field(
        "refuse",
        description="Two agent names running the same CLI and model are one seat: refuse a judge that shares "
        "the seat of the author it judges (or two reviewers sharing one), or only warn (devloop doctor).",
    )


class CacheStoreConfig(_Strict):
    """A shared answer store: a bucket or a folder other clones and CI runners also use."""

    url: str = Field(
        min_length=1,
        description="Where the store lives: gs://bucket/prefix (pip install devloop[gcs]), s3://bucket/prefix "
        "(devloop[s3]), a folder path (relative to the workspace, or absolute) or file:// URL (a shared mount), "
        "or any fsspec URL.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Passed to the fsspec file system, e.g. {endpoint_url: http://127.0.0.1:9023, token: anon}. "
        "Never put a secret here: devloop.yaml is committed; use the client's own credentials (ADC, AWS profile).",
    )
    read: bool = Field(
        True,
        description="Restore answers from this store (list only stores you trust: whoever "
        "can write a store can supply answers).",
    )
    push: bool = Field(False, description="Store accepted answers here too (e.g. true only in CI).")
    snapshots: bool = Field(
        False,
        description="Also restore whole features from this store at once (their locks and files as they were "
        "answered, gates included): trust it as you trust your commits. The local store is always read so.",
    )
    timeout: float = Field(10, gt=0, le=600, description="Seconds per request before the store counts as unreachable.")

    @field_validator("url")
    @classmethod
    def _url_or_folder(cls, url: str) -> str:
        """A URL is ``scheme://...`` with something after it; anything else is a folder path, unless it begins
        like a URL (``gs:/bucket``, ``s3:bucket``): that is a typo, and as a folder it would be made in the
        workspace and never be the bucket meant."""
        scheme, sep, rest = url.partition("://")
        if sep:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
                raise ValueError(f"{scheme!r} is not a URL scheme (write gs://bucket/prefix, or a folder path)")
            if not rest.strip("/") and scheme.lower() != "memory":
                raise ValueError(f"{scheme}:// names no bucket or folder (write {scheme}://bucket/prefix)")
            return url
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", url):
            raise ValueError(
                f"{url!r} begins like a URL but has no '://' (e.g. gs://bucket/prefix); "
                f"a folder whose name holds ':' is written ./{url}"
            )
        return url


class CacheConfig(_Strict):
    """The answer cache: a call whose question was answered before is restored, not asked again."""

    read: bool = Field(True, description="Look answers up before calling an agent (false: always ask).")
    write: bool = Field(True, description="Keep every accepted answer in the local store.")
    local: str = Field(".devloop/cache", description="The local store, relative to the workspace (or absolute).")
    max_bytes: int = Field(
        2_000_000_000,
        ge=1_000_000,
        description="`devloop cache gc` trims the local store to this size, least recently used first.",
    )
    stores: list[CacheStoreConfig] = Field(default_factory=list, description="Shared stores, read in order.")


class Config(_Strict):
    """The whole devloop.yaml."""

    cache: CacheConfig = CacheConfig()
    checks: ChecksConfig = ChecksConfig()
    agents: dict[str, AgentConfig] = Field(default_factory=dict)
    roles: Roles = Roles()
    independence: IndependenceConfig = IndependenceConfig()
    steps: StepPolicies = StepPolicies()
    features: dict[str, FeatureConfig] = Field(default_factory=dict)
    env_allow: list[str] = Field(
        default_factory=list, description="Extra environment variable names every command agent receives."
    )
    sandbox: SandboxMode = Field(
        "auto",
        description="How programs that run agents' code are confined: bubblewrap (the operating system refuses "
        "writes outside their reach), off (a snapshot of the workspace is compared after each and what is out of "
        "reach is put back), auto (bubblewrap when it can start here, else off, said once per run).",
    )
    sandbox_writable: list[WritablePlace] = Field(
        default_factory=lambda: ["~", "/tmp", "/var/tmp"],
        description="Folders outside the workspace confined programs may write (agents' CLIs keep state in ~); "
        "the rest of the file system is read-only to them.",
    )
    gcp: GcpConfig = GcpConfig()
    deploy: DeployConfig = DeployConfig()
    rollup: RollupConfig = RollupConfig()
    max_prompt_chars: int = Field(
        1_000_000, ge=1000, description="A prompt longer than this is refused before any agent is called."
    )
    max_code_chars: int = Field(
        400_000,
        ge=1000,
        description="Budget for the change shown to a judge (diff first, then whole files); what does not fit is "
        "listed in the prompt and the record, never cut silently.",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_manual_agent(cls, data: object) -> object:
        if isinstance(data, dict):
            agents = dict(data.get("agents") or {})
            agents.setdefault("me", {"kind": "manual"})
            data = {**data, "agents": agents}
        return data

    @model_validator(mode="after")
    def _roles_name_agents(self) -> Config:
        problems = []
        for role in SINGLE_ROLES:
            name = getattr(self.roles, role)
            if name not in self.agents:
                problems.append(f"roles.{role}: agent {name!r} is not defined under agents")
        for role in LIST_ROLES:
            for i, name in enumerate(getattr(self.roles, role)):
                if name not in self.agents:
                    problems.append(f"roles.{role}.{i}: agent {name!r} is not defined under agents")
        impl = self.roles.implementer
        is_human = impl in self.agents and self.agents[impl].kind == "manual"
        if impl in self.roles.reviewers and not is_human:
            problems.append(
                f"roles.reviewers: {impl!r} is the implementer; the implementer's agent never reviews its own code"
            )
        for conflict in self.seat_conflicts():
            if not conflict.by_seat or self.independence.same_seat == "refuse":
                problems.append(
                    conflict.text() + (" (or set independence.same_seat: warn)" if conflict.by_seat else "")
                )
        for role in ("reviewers", "red_team"):
            names = getattr(self.roles, role)
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                problems.append(f"roles.{role}: {', '.join(dupes)} listed twice; each entry is a separate agent")
        quorum = self.steps.code_review.quorum
        if isinstance(quorum, int) and not 1 <= quorum <= len(self.roles.reviewers):
            problems.append(
                f"steps.code_review.quorum: {quorum} is not between 1 and the {len(self.roles.reviewers)} reviewers"
            )
        for name in self.agents:
            if not is_agent_name(name):
                problems.append(
                    f"agents.{name!r}: not an agent name (lower case letters, digits, - and _, at most 64); "
                    "agent names become file names"
                )
        for name in self.features:
            if (problem := feature_name_problem(name)) is not None:
                problems.append(f"features.{name}: {problem}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def seat_conflicts(self) -> list[Conflict]:
        """Judges sharing an agent or a seat with the author they judge (see devloop.config.independence)."""
        return conflicts(self.roles, self.agents)
