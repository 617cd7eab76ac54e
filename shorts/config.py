"""The composed config as the runner uses it: the short's declaration, params and redaction."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shorts.errors import UsageError
from shorts.project import Project

MAX_PARAM_CHARS = 6000
REDACTED = "***redacted***"
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?$|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"credential|auth",
    re.IGNORECASE,
)


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


def redact(value: Any, key: str = "") -> Any:
    """A copy of a plain config container with secret-looking keys' values replaced."""
    if key and SECRET_KEY.search(key) and not isinstance(value, dict | list):
        return REDACTED if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    return value


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
