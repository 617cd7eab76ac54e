"""Pure functions the runner and the recorder lean on: params, redaction, bounded logs, outcomes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shorts.config import MAX_PARAM_CHARS, REDACTED, flatten, redact, redact_overrides
from shorts.outcome import EXIT_USAGE, Outcome
from shorts.runner.output import BoundedLog

# Timing is not under test, and the machine may be busy running shorts in parallel.
unhurried = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- flatten ------------------------------------------------------------------------------------


def test_flatten_nested_mapping_to_dotted_string_params() -> None:
    config = {
        "caps": {"wall_time": "20s", "cpus": 1},
        "cv": {"folds": 5, "seed": 0},
        "model": {"classifier": {"_target_": "x.Y", "alpha": 0.5}},
        "tracking": {"uri": None},
        "tags": ["a", "b"],
        "flag": True,
    }

    assert flatten(config) == {
        "caps.wall_time": "20s",
        "caps.cpus": "1",
        "cv.folds": "5",
        "cv.seed": "0",
        "model.classifier._target_": "x.Y",
        "model.classifier.alpha": "0.5",
        "tracking.uri": "null",
        "tags": "['a', 'b']",
        "flag": "True",
    }


def test_flatten_truncates_long_values_to_the_param_limit() -> None:
    flat = flatten({"blob": "x" * (MAX_PARAM_CHARS * 2), "ok": "y" * MAX_PARAM_CHARS})

    assert len(flat["blob"]) == MAX_PARAM_CHARS
    assert flat["blob"].endswith("...")
    assert flat["ok"] == "y" * MAX_PARAM_CHARS


def test_flatten_of_an_empty_mapping_is_empty() -> None:
    assert flatten({}) == {}


keys = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
configs = st.recursive(
    st.dictionaries(keys, leaves, max_size=4),
    lambda children: st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)


def _leaf_count(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaf_count(v) for v in value.values())
    return 1


@unhurried
@given(configs)
def test_flatten_keeps_one_string_param_per_leaf(config: dict[str, Any]) -> None:
    flat = flatten(config)

    assert all(isinstance(v, str) for v in flat.values())
    assert len(flat) == _leaf_count(config)  # empty mappings contribute no param
    for dotted, text in flat.items():
        node: Any = config
        for part in dotted.split("."):
            node = node[part]
        assert text == ("null" if node is None else str(node))


# -- redact -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_password",
        "passwd",
        "passphrase",
        "pass",
        "secret",
        "client_secret",
        "aws_secret_access_key",
        "token",
        "api_token",
        "access_token",
        "hf_token",
        "api_key",
        "apikey",
        "api-key",
        "API_KEY",
        "apiKey",
        "accessToken",
        "clientSecret",
        "access_key",
        "private_key",
        "ssh_private_key",
        "credential",
        "credentials",
        "auth",
        "auth_token",
        "basic_auth",
        "password2",
        "api_tokens",
        "refresh_token",
        "db.password",
    ],
)
def test_redact_hides_secret_looking_keys(key: str) -> None:
    assert redact({key: "hunter2"}) == {key: REDACTED}


@pytest.mark.parametrize(
    "key",
    [
        "max_tokens",
        "num_tokens",
        "tokenizer",
        "author",
        "authors",
        "n_passes",
        "bypass",
        "compass",
        "keyboard",
        "alpha",
        "wall_time",
    ],
)
def test_redact_keeps_ordinary_params_that_merely_contain_a_secret_word(key: str) -> None:
    """An ML param like max_tokens or tokenizer must reach MLflow as it is, not as a redaction."""
    assert redact({key: "value"}) == {key: "value"}


def test_redact_nested_keys_and_lists() -> None:
    config = {
        "db": {"host": "localhost", "password": "hunter2", "port": 5432},
        "api_token": "abc123",
        "services": [
            {"name": "a", "token": "t1"},
            {"name": "b", "auth": {"user": "me", "secret": "s2"}},
        ],
        "api_keys": ["k1", "k2"],
        "seeds": [1, 2, 3],
        "cv": {"folds": 5},
    }
    original = copy.deepcopy(config)

    redacted = redact(config)

    assert redacted == {
        "db": {"host": "localhost", "password": REDACTED, "port": 5432},
        "api_token": REDACTED,
        "services": [
            {"name": "a", "token": REDACTED},
            {"name": "b", "auth": {"user": REDACTED, "secret": REDACTED}},
        ],
        "api_keys": [REDACTED, REDACTED],
        "seeds": [1, 2, 3],
        "cv": {"folds": 5},
    }
    assert config == original, "redact must not modify its input"


def test_redact_hides_every_leaf_under_a_secret_mapping() -> None:
    config = {"credentials": {"aws": {"id": "AKIA", "key": "k"}, "region": ["eu", 1]}, "n": 1}

    assert redact(config) == {
        "credentials": {"aws": {"id": REDACTED, "key": REDACTED}, "region": [REDACTED, REDACTED]},
        "n": 1,
    }


def test_redact_leaves_unset_secrets_visibly_unset() -> None:
    assert redact({"password": None, "token": ""}) == {"password": None, "token": ""}


@unhurried
@given(configs, st.text(min_size=1, max_size=30).filter(lambda s: REDACTED not in s))
def test_redacted_secret_value_never_survives_flattening(
    config: dict[str, Any], secret: str
) -> None:
    config = {**config, "db": {"password": secret}, "nested": {"deep": {"api_token": secret}}}

    flat = flatten(redact(config))

    assert flat["db.password"] == REDACTED
    assert flat["nested.deep.api_token"] == REDACTED


# -- BoundedLog ---------------------------------------------------------------------------------


def _written(log: BoundedLog, tmp_path: Path) -> bytes:
    path = tmp_path / "output.log"
    log.write(path)
    return path.read_bytes()


def test_bounded_log_keeps_everything_when_it_fits(tmp_path: Path) -> None:
    log = BoundedLog(head=10, tail=10)
    for chunk in (b"hello ", b"world", b"!"):
        log.feed(chunk)

    assert log.omitted == 0
    assert _written(log, tmp_path) == b"hello world!"


def test_bounded_log_keeps_head_and_tail_and_counts_the_middle(tmp_path: Path) -> None:
    log = BoundedLog(head=4, tail=6)
    data = b"0123456789abcdefghijklmnopqrstuvwxyz"
    for i in range(0, len(data), 5):
        log.feed(data[i : i + 5])

    assert log.omitted == len(data) - 4 - 6
    assert _written(log, tmp_path) == (
        b"0123" + f"\n[... {len(data) - 10} bytes omitted by shorts ...]\n".encode() + b"uvwxyz"
    )


def test_bounded_log_one_huge_chunk(tmp_path: Path) -> None:
    log = BoundedLog(head=3, tail=3)
    log.feed(b"A" * 3 + b"B" * 1000 + b"C" * 3)

    assert log.omitted == 1000
    assert _written(log, tmp_path) == b"AAA\n[... 1000 bytes omitted by shorts ...]\nCCC"


@unhurried
@given(
    head=st.integers(min_value=0, max_value=50),
    tail=st.integers(min_value=1, max_value=50),
    chunks=st.lists(st.binary(max_size=40), max_size=30),
)
def test_bounded_log_property(head: int, tail: int, chunks: list[bytes]) -> None:
    log = BoundedLog(head=head, tail=tail)
    for chunk in chunks:
        log.feed(chunk)
    data = b"".join(chunks)

    expected_omitted = max(0, len(data) - head - tail)
    assert log.total == len(data)
    assert log.omitted == expected_omitted
    assert bytes(log.head) == data[:head]
    # bounded memory: never more than one chunk beyond the tail limit is held
    assert log.tail_size < tail + max((len(c) for c in chunks), default=0) + 1


@unhurried
@given(
    head=st.integers(min_value=0, max_value=30),
    tail=st.integers(min_value=1, max_value=30),
    chunks=st.lists(st.binary(max_size=25), max_size=20),
)
def test_bounded_log_written_file_property(
    head: int, tail: int, chunks: list[bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    log = BoundedLog(head=head, tail=tail)
    for chunk in chunks:
        log.feed(chunk)
    data = b"".join(chunks)
    path = tmp_path_factory.mktemp("log") / "output.log"
    log.write(path)

    omitted = len(data) - head - tail
    if omitted > 0:
        marker = f"\n[... {omitted} bytes omitted by shorts ...]\n".encode()
        assert path.read_bytes() == data[:head] + marker + data[-tail:]
    else:
        assert path.read_bytes() == data


def test_bounded_log_head_only(tmp_path: Path) -> None:
    log = BoundedLog(head=4, tail=0)
    log.feed(b"0123456789")

    assert log.omitted == 6
    assert _written(log, tmp_path) == b"0123\n[... 6 bytes omitted by shorts ...]\n"


# -- Outcome ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "mlflow_status", "exit_status"),
    [
        (Outcome.COMPLETED, "FINISHED", 0),
        (Outcome.TIMEOUT, "FAILED", 1),
        (Outcome.MEMOUT, "FAILED", 1),
        (Outcome.CPUTIME, "FAILED", 1),
        (Outcome.CRASHED, "FAILED", 1),
        (Outcome.INTERRUPTED, "KILLED", 130),
        (Outcome.LOST, "KILLED", 1),
    ],
)
def test_outcome_status_and_exit_mappings(
    outcome: Outcome, mlflow_status: str, exit_status: int
) -> None:
    assert outcome.mlflow_status == mlflow_status
    assert outcome.exit_status == exit_status


def test_every_outcome_is_mapped_and_tags_as_its_value() -> None:
    assert {o.value for o in Outcome} == {
        "completed",
        "timeout",
        "memout",
        "cputime",
        "crashed",
        "interrupted",
        "lost",
        "pruned",
    }
    for outcome in Outcome:
        assert outcome.mlflow_status in {"FINISHED", "FAILED", "KILLED"}
        assert str(outcome) == outcome.value
        assert outcome.exit_status != EXIT_USAGE, "2 is reserved for usage errors"
    assert Outcome("timeout") is Outcome.TIMEOUT


def test_redact_overrides_hides_secret_values_on_the_command_line() -> None:
    overrides = [
        "+experiment=fault_quick",
        "cv.folds=3",
        "+db.password=hunter2",
        "+api_token=abc123",
        "++credentials.aws.key=k",
        "~token",
        "model.tokenizer=bert",
    ]

    assert redact_overrides(overrides) == [
        "+experiment=fault_quick",
        "cv.folds=3",
        f"+db.password={REDACTED}",
        f"+api_token={REDACTED}",
        f"++credentials.aws.key={REDACTED}",
        "~token",
        "model.tokenizer=bert",
    ]


# -- the record's contract (shorts.record, the outcome families) --------------------------------


def test_outcome_families_partition_the_outcomes_and_decide_status_and_exit() -> None:
    from shorts.outcome import BY_DESIGN, CAPPED, CUT_OFF, FAILED, NO_RESULT, TERMINAL

    assert BY_DESIGN | FAILED | CUT_OFF == TERMINAL == set(Outcome)
    assert not (BY_DESIGN & FAILED or BY_DESIGN & CUT_OFF or FAILED & CUT_OFF)
    assert {Outcome.TIMEOUT, Outcome.MEMOUT, Outcome.CPUTIME} == CAPPED and CAPPED < FAILED
    assert NO_RESULT == FAILED | CUT_OFF
    for outcome in Outcome:
        family = "FINISHED" if outcome in BY_DESIGN else "FAILED" if outcome in FAILED else "KILLED"
        assert outcome.mlflow_status == family
        assert (outcome.exit_status == 0) == (outcome in BY_DESIGN)
    assert "memout" in CAPPED and "completed" not in FAILED  # tags are plain strings


def test_the_retrospective_counts_as_failed_the_outcomes_with_no_result() -> None:
    from shorts.outcome import NO_RESULT
    from shorts.retro.model import FAILED_OUTCOMES

    assert set(FAILED_OUTCOMES) == NO_RESULT and len(FAILED_OUTCOMES) == len(NO_RESULT)


def test_the_record_keeps_the_names_runs_in_stores_already_use() -> None:
    from shorts import record

    assert (record.SHORT, record.OUTCOME, record.REASON, record.VERDICT) == (
        "shorts.short",
        "shorts.outcome",
        "shorts.reason",
        "shorts.verdict",
    )
    assert (record.DATASET, record.OVERRIDES, record.CHOICES, record.EVIDENCE) == (
        "shorts.dataset",
        "shorts.overrides",
        "shorts.choices",
        "shorts.evidence",
    )
    assert (record.CAPS_WALL_TIME, record.CAPS_MEMORY, record.CAPS_CPUS, record.CAPS_GRACE) == (
        "shorts.caps.wall_time",
        "shorts.caps.memory",
        "shorts.caps.cpus",
        "shorts.caps.grace",
    )
    assert (record.WALL_SECONDS, record.CPU_SECONDS, record.PEAK_RSS_MIB) == (
        "shorts.wall_seconds",
        "shorts.cpu_seconds",
        "shorts.peak_rss_mib",
    )
    assert record.variant_verdict("soft") == "shorts.variant.soft.verdict"
    assert (record.RETRY_OF, record.RETRIED_AS, record.KIND) == (
        "shorts.retry_of",
        "shorts.retried_as",
        "shorts.kind",
    )


def test_every_name_in_the_record_is_distinct_and_within_mlflow_key_rules() -> None:
    import re

    from shorts import record

    names = [
        v
        for k, v in vars(record).items()
        if k.isupper() and isinstance(v, str) and v.startswith(("shorts.", "mlflow."))
    ]
    assert len(names) == len(set(names)) > 60
    assert all(re.fullmatch(r"[\w.\- /:]{1,250}", name) for name in names)


def test_caps_are_recorded_as_display_tags_and_as_numbers_in_fixed_units() -> None:
    from shorts import record
    from shorts.caps import Caps

    caps = Caps(wall_time=65.0, memory=768 * 2**20, cpus=2, grace=1.5)

    assert caps.as_tags()[record.CAPS_WALL_TIME] == "1m05s"
    assert caps.as_tags()[record.CAPS_MEMORY] == "768.0 MiB"
    assert caps.as_metrics() == {
        record.CAPS_WALL_TIME_SECONDS: 65.0,
        record.CAPS_MEMORY_BYTES: 768.0 * 2**20,
        record.CAPS_CPUS_CORES: 2.0,
        record.CAPS_GRACE_SECONDS: 1.5,
    }
    read = record.RecordedCaps.of(caps.as_metrics())
    assert (read.wall_time_seconds, read.memory_bytes, read.cpus) == (65.0, 768 * 2**20, 2.0)
    assert read.memory_mib == 768.0


def test_caps_missing_from_the_record_are_unknown_not_parsed_from_display_tags() -> None:
    import math

    from shorts import record
    from shorts.caps import Caps

    display_only = Caps(wall_time=65.0, memory=768 * 2**20, cpus=2, grace=1.5).as_tags()
    read = record.RecordedCaps.of(display_only)

    assert math.isnan(read.wall_time_seconds) and math.isnan(read.memory_bytes)
    assert math.isnan(read.cpus)


def test_peak_memory_is_read_in_bytes_and_from_the_mib_metric_of_older_runs() -> None:
    import math

    from shorts import record

    assert record.peak_rss_mib({record.PEAK_RSS_BYTES: 3 * 2**20, record.PEAK_RSS_MIB: 9.0}) == 3
    assert record.peak_rss_mib({record.PEAK_RSS_MIB: 9.0}) == 9.0
    assert math.isnan(record.peak_rss_mib({}))


def test_a_run_closes_with_its_usage_as_numbers() -> None:
    from shorts import record
    from shorts.caps import Caps
    from shorts.launch import _closing
    from shorts.runner import Observation

    observation = Observation(
        outcome=Outcome.MEMOUT,
        reason="over its memory cap",
        started_at=1000.0,
        wall_seconds=10.0,
        cpu_seconds=15.0,
        peak_rss=300 * 2**20,
    )

    closing = _closing(observation, None, Caps(60.0, 256 * 2**20, 2, 1.0))

    metrics = closing.metrics
    assert closing.status == "FAILED" and closing.tags[record.OUTCOME] == "memout"
    assert metrics[record.PEAK_RSS_BYTES] == 300 * 2**20 and metrics[record.PEAK_RSS_MIB] == 300
    assert metrics[record.CAP_USED_MEMORY] == 300 / 256
    assert metrics[record.CAP_USED_CPUS] == 15.0 / (10.0 * 2)


def test_every_outcome_has_a_summary_style() -> None:
    from shorts.console import OUTCOME_STYLE

    assert set(OUTCOME_STYLE) == set(Outcome)


def test_every_outcome_is_described_once_and_its_readers_take_it_from_there() -> None:
    from shorts.console import OUTCOME_STYLE
    from shorts.outcome import DESCRIPTIONS, FAMILIES
    from shorts.retro.lessons import OVERALL

    assert set(DESCRIPTIONS) == set(Outcome)
    assert all(d.family in FAMILIES and d.glossary and d.phrase for d in DESCRIPTIONS.values())
    for outcome, described in DESCRIPTIONS.items():
        assert OUTCOME_STYLE[outcome] == described.style
        assert OVERALL[outcome.value] == described.phrase


def test_every_cap_kind_causes_its_own_capped_outcome_and_is_named_by_the_record() -> None:
    from shorts import record
    from shorts.caps import KINDS, kind_of
    from shorts.outcome import CAPPED

    assert {kind.outcome for kind in KINDS} == CAPPED
    assert len({kind.key for kind in KINDS}) == len(KINDS)
    for kind in KINDS:
        assert kind_of(kind.outcome) is kind
        assert kind.metric() == record.caps_metric(kind.key, kind.unit)
    assert record.caps_metric("wall_time", "seconds") == record.CAPS_WALL_TIME_SECONDS
    assert record.caps_metric("memory", "bytes") == record.CAPS_MEMORY_BYTES
    assert record.cap_used("memory") == record.CAP_USED_MEMORY


def test_the_public_api_holds_what_the_shipped_shorts_import_and_loads_lazily() -> None:
    """``shorts.__all__`` is what a short may use; the shipped shorts import only from it, and
    ``import shorts`` alone does not pull in scikit-learn."""
    import ast
    import subprocess
    import sys

    import shorts

    experiments = Path(__file__).resolve().parent.parent / "experiments"
    for path in experiments.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shorts"):
                assert node.module == "shorts", f"{path.name} imports {node.module}"
                assert {a.name for a in node.names} <= set(shorts.__all__), path.name
    for name in shorts.__all__:
        assert getattr(shorts, name) is not None, name
    probe = "import sys, shorts; print('sklearn' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_p_value_reads_the_same_in_a_verdict_a_lesson_and_a_table() -> None:
    from shorts.reports import format_probability
    from shorts.retro.lessons import _p

    assert format_probability(0.0007) == _p(0.0007) == "<0.001"  # once "0.001" in a table
    assert format_probability(0.0123) == _p(0.0123) == "0.012"
    assert format_probability(0.0) == "0.000" and format_probability(None) != "0.000"
