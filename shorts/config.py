"""The composed config: the one way from overrides to a run request, and what a run reads of it.

Every command that reads a short's config composes it here (:func:`compose`); only ``shorts run``
itself enters Hydra through ``@hydra.main`` (for its grammar, output folders and launchers).
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts.errors import UsageError, one_line
from shorts.project import PRIMARY_CONFIG, Project

if TYPE_CHECKING:
    from omegaconf import DictConfig

MAX_PARAM_CHARS = 6000
REDACTED = "***redacted***"
# A key is secret when one of its words is a secret word (``db_password``, ``hfToken``), or two
# neighbouring words name a key or token (``api_key``, ``access_tokens``). Whole words only, so
# ordinary params that merely contain one (``max_tokens``, ``tokenizer``, ``author``) are kept.
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "pass",
        "pwd",
        "secret",
        "secrets",
        "token",
        "credential",
        "credentials",
        "creds",
        "auth",
        "oauth",
        "apikey",
        "apikeys",
    }
)
SECRET_PAIRS = (
    frozenset({"api", "access", "private", "auth", "refresh", "session", "bearer", "signing"}),
    frozenset({"key", "keys", "token", "tokens"}),
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ShortDeclaration:
    """What an experiment file declares about its short."""

    name: str
    fn: str
    hypothesis: str
    techniques: tuple[str, ...]


def declaration(name: str, short: Any, project: Project) -> ShortDeclaration:
    """Validate the ``short`` node: a ``module:function`` that exists under the project."""
    fn = str(short.get("fn") or "")
    module_name, sep, function = fn.partition(":")
    if not sep or not module_name or not function.isidentifier():
        raise UsageError(
            f"short.fn={fn!r} in configs/experiment/{name}.yaml must name the short's function "
            f"as module:function, e.g. experiments.{name}:run."
        )
    source = _module_file(module_name, project.root)
    if source is None:
        raise UsageError(
            f"short.fn={fn!r}: no module {module_name!r} under {project.root}; "
            f"put the short's code in experiments/."
        )
    if function not in _top_level_functions(source):
        raise UsageError(
            f"short.fn={fn!r}: {source.relative_to(project.root)} defines no top-level "
            f"function {function!r}."
        )
    techniques = short.get("techniques") or []
    return ShortDeclaration(
        name=name,
        fn=fn,
        hypothesis=str(short.get("hypothesis") or "").strip(),
        techniques=tuple(str(t) for t in techniques),
    )


def _module_file(module_name: str, root: Path) -> Path | None:
    """The source file of ``module_name`` as the worker will import it, without importing it."""
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    finally:
        if added:
            sys.path.remove(str(root))
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _top_level_functions(source: Path) -> set[str]:
    """Names a module binds at top level: functions, assignments and imports."""
    try:
        tree = ast.parse(source.read_text(), filename=str(source))
    except SyntaxError as exc:
        raise UsageError(f"{source}: line {exc.lineno}: syntax error: {exc.msg}.") from None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def is_secret_key(key: str) -> bool:
    """Whether a config key names a secret (``password``, ``api_token``, ``clientSecret``...)."""
    words = [w.rstrip("0123456789") for w in _WORD_SPLIT.split(_CAMEL.sub("_", key).lower())]
    if any(w in SECRET_WORDS for w in words):
        return True
    firsts, seconds = SECRET_PAIRS
    return any(a in firsts and b in seconds for a, b in itertools.pairwise(words))


def redact(value: Any, key: str = "", secret: bool = False) -> Any:
    """A copy of a plain config container with the values under secret-looking keys replaced.

    Everything below a secret key is hidden, including the leaves of a mapping or list it holds
    (``credentials: {id: ..., key: ...}``); unset values (``None``, ``""``) stay visibly unset.
    """
    secret = secret or (bool(key) and is_secret_key(key))
    if isinstance(value, dict):
        return {k: redact(v, str(k), secret) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key, secret) for v in value]
    if secret and value not in (None, ""):
        return REDACTED
    return value


def redact_overrides(overrides: list[str]) -> list[str]:
    """Hydra overrides (``+db.password=x``) with the values of secret keys replaced.

    For the ``shorts.overrides`` tag: the command line carries the same secrets as the config.
    """
    redacted = []
    for override in overrides:
        key, sep, value = override.partition("=")
        words = key.lstrip("+~").split(".")
        if sep and value and any(is_secret_key(w) for w in words):
            override = f"{key}={REDACTED}"
        redacted.append(override)
    return redacted


NOT_PARAMS = ("short", "sweep")  # already tags (hypothesis) or the sweep's, not the run's


def run_params(config: Mapping[str, Any]) -> dict[str, str]:
    """The params a run of the resolved ``config`` is recorded with: flattened, secrets
    redacted, without ``NOT_PARAMS``. The headroom warning reads a run about to start the same
    way, so it compares like with like."""
    return flatten(redact({k: v for k, v in config.items() if k not in NOT_PARAMS}))


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Dotted keys to string values, the shape MLflow params take (long values truncated)."""
    flat: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            flat.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return flat
    text = "null" if value is None else str(value)
    if len(text) > MAX_PARAM_CHARS:
        text = text[: MAX_PARAM_CHARS - 3] + "..."
    flat[prefix] = text
    return flat


@dataclass(frozen=True)
class RunRequest:
    """One composed short to run, as Hydra (or a sweep) decided it."""

    cfg: DictConfig  # without its ``hydra`` node
    name: str | None  # the chosen experiment
    choices: dict[str, Any]  # config group choices (experiment, model, dataset, ...)
    overrides: list[str]  # the command-line overrides that made ``cfg``
    staging: Path  # this run's own folder for evidence and artifacts


@contextmanager
def composing(project: Project) -> Iterator[None]:
    """Hydra's compose API around the project's ``configs/``, unless a Hydra context is open.

    Inside ``shorts run`` (``@hydra.main``) or an enclosing ``composing`` block, compositions
    share that context (one start of Hydra for many configs); otherwise one is opened here and
    cleared on the way out, so no Hydra state leaks into the next command.
    """
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        yield
        return
    try:
        with initialize_config_dir(
            config_dir=str(project.configs), version_base="1.3", job_name=PRIMARY_CONFIG
        ):
            yield
    finally:
        GlobalHydra.instance().clear()


def compose(
    project: Project,
    overrides: Sequence[str],
    staging: Path | None = None,
    hydra_overrides: Sequence[str] = (),
) -> RunRequest:
    """The project's config with ``overrides``, as ``shorts run`` composes it.

    The one path from overrides to a config: an unknown short is one line listing the known
    ones, and whatever Hydra or OmegaConf refuses (an unknown option, a malformed override, a
    file that is not YAML) is one ``UsageError`` line. The ``hydra`` node is taken out of
    ``cfg`` and installed as the current ``HydraConfig``, so ``${hydra:...}`` still resolves.

    ``staging`` is the run's own folder (commands that only read the config leave it out);
    ``hydra_overrides`` are the command line's ``hydra.*`` overrides a multirun's jobs share.
    """
    import yaml
    from hydra import compose as hydra_compose
    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import HydraException, OverrideParseException
    from omegaconf import open_dict
    from omegaconf.errors import OmegaConfBaseException

    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") == "experiment":
            project.check_short(value)
    try:
        with composing(project):
            cfg = hydra_compose(
                PRIMARY_CONFIG, overrides=[*hydra_overrides, *overrides], return_hydra_config=True
            )
    except (HydraException, OmegaConfBaseException, ValueError, yaml.YAMLError) as exc:
        message = one_line(str(exc))
        if isinstance(exc, OverrideParseException) and exc.override not in message:
            message = f"override {exc.override!r}: {message}"  # say which one
        raise UsageError(message) from None
    HydraConfig.instance().set_config(cfg)
    choices = dict(cfg.hydra.runtime.choices)
    with open_dict(cfg):
        del cfg["hydra"]
    name = choices.get("experiment")
    return RunRequest(
        cfg, name, choices, list(overrides), staging or project.state / "compose" / str(name)
    )


def compose_config(project: Project, overrides: list[str]) -> DictConfig:
    """The composed config alone (:func:`compose`), for commands that read a config without
    running it (``inspect``, ``label``, ``caps suggest``, ``retro``)."""
    return compose(project, overrides).cfg


def group_choices(project: Project, group: str) -> dict[str, Any]:
    """Each option of the config group ``group`` (``model``, ``dataset``) as a composed config
    holds it (``model=NAME``): its defaults, package and interpolations applied, which a read of
    its YAML file would miss. An option that does not compose is left out (choosing it says
    why); the current ``HydraConfig`` is kept (this may run inside a job's own checks)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    saved = HydraConfig.instance().cfg
    nodes: dict[str, Any] = {}
    try:
        with composing(project):
            for name in GlobalHydra.instance().config_loader().get_group_options(group):
                try:
                    nodes[name] = compose(project, [f"{group}={name}"]).cfg.get(group)
                except UsageError:
                    continue
    finally:
        if saved is not None:
            HydraConfig.instance().set_config(saved)  # type: ignore[arg-type]  # holds `hydra`
    return nodes
