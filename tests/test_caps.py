"""Caps as a user writes them: durations, sizes, the caps node, and what this machine can honour."""

from __future__ import annotations

import math
import os
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shorts import caps as caps_module
from shorts.caps import (
    DURATION_FORMS,
    SIZE_FORMS,
    Caps,
    format_size,
    parse_caps,
    parse_duration,
    parse_headroom,
    parse_size,
    preflight,
)
from shorts.errors import UsageError

REPO = Path(__file__).resolve().parent.parent

# Timing is not under test, and the machine may be busy running shorts in parallel.
unhurried = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

DURATION_UNITS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}

# -- parse_duration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90", 90.0),
        (90, 90.0),
        (90.0, 90.0),
        ("90s", 90.0),
        ("10m", 600.0),
        ("1.5h", 5400.0),
        ("0.5s", 0.5),
        ("2min", 120.0),
        ("30sec", 30.0),
        (" 10 m ", 600.0),
        ("1H", 3600.0),
        ("1e2", 100.0),
    ],
)
def test_parse_duration_accepted_forms(value: Any, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "",
        " ",
        "10 parsecs",
        "10d",
        "m",
        "1.5.5m",
        "-5",
        "-5s",
        "0",
        "0s",
        0,
        -1,
        -0.5,
        None,
        True,
        False,
        float("nan"),
        float("inf"),
        "inf",
        "nan",
        "1e999",
        10**400,
        -(10**400),
        [10],
    ],
)
def test_parse_duration_refuses_malformed_values_naming_the_accepted_forms(value: Any) -> None:
    with pytest.raises(UsageError) as info:
        parse_duration(value, "caps.wall_time")

    message = str(info.value)
    assert message.startswith("caps.wall_time=")
    assert DURATION_FORMS in message
    for form in ("90", "'90s'", "'10m'", "'1.5h'"):
        assert form in message
    assert "\n" not in message


@unhurried
@given(n=st.integers(min_value=1, max_value=10**12), unit=st.sampled_from(sorted(DURATION_UNITS)))
def test_parse_duration_whole_numbers_with_any_unit(n: int, unit: str) -> None:
    assert parse_duration(f"{n}{unit}") == n * DURATION_UNITS[unit]
    assert parse_duration(f" {n} {unit.upper()} ") == n * DURATION_UNITS[unit]


@unhurried
@given(
    d=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3),
    unit=st.sampled_from(sorted(DURATION_UNITS)),
)
def test_parse_duration_decimals_with_any_unit(d: Decimal, unit: str) -> None:
    assert math.isclose(parse_duration(f"{d}{unit}"), float(d) * DURATION_UNITS[unit])


@unhurried
@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_parse_duration_numbers_are_seconds(seconds: float) -> None:
    assert parse_duration(seconds) == seconds
    assert parse_duration(repr(seconds)) == seconds


@unhurried
@given(st.text(max_size=12))
def test_parse_duration_any_text_is_a_positive_duration_or_a_usage_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except UsageError as exc:
        assert DURATION_FORMS in str(exc)
    else:
        assert math.isfinite(seconds) and seconds > 0


# -- parse_size ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "n_bytes"),
    [
        ("512MB", 512 * 10**6),
        ("2GiB", 2 * 2**30),
        ("1.5GB", 1_500_000_000),
        ("768MiB", 768 * 2**20),
        (1024, 1024),
        ("1024", 1024),
        ("100 KiB", 100 * 1024),
        ("2gib", 2 * 2**30),
        ("1.5 GiB", 3 * 2**29),
        ("123 B", 123),
        ("1.001KB", 1001),
        ("4.1MB", 4_100_000),
    ],
)
def test_parse_size_accepted_forms(value: Any, n_bytes: int) -> None:
    size = parse_size(value)

    assert size == n_bytes
    assert isinstance(size, int)


@pytest.mark.parametrize(
    "value",
    [
        "lots",
        "",
        "2 furlongs",
        "GB",
        "1..5GB",
        "-1MB",
        "-1",
        "0",
        "0MB",
        "0.5",
        "0.0001KB",
        0,
        0.5,
        -1024,
        None,
        True,
        float("nan"),
        float("inf"),
        "1e999GB",
        "1e-99999999GB",
        "0." + "0" * 5000 + "1e5000",
        {"value": 1},
    ],
)
def test_parse_size_refuses_malformed_values_naming_the_accepted_forms(value: Any) -> None:
    with pytest.raises(UsageError) as info:
        parse_size(value, "caps.memory")

    message = str(info.value)
    assert message.startswith("caps.memory=")
    assert SIZE_FORMS in message
    for form in ("'512MB'", "'2GiB'", "KiB", "MiB", "GiB"):
        assert form in message
    assert "\n" not in message


@unhurried
@given(n=st.integers(min_value=1), unit=st.sampled_from(sorted(SIZE_UNITS)))
def test_parse_size_whole_numbers_with_any_unit_are_exact(n: int, unit: str) -> None:
    assert parse_size(f"{n}{unit}") == n * SIZE_UNITS[unit]
    assert parse_size(f" {n} {unit.lower()} ") == n * SIZE_UNITS[unit]


@unhurried
@given(n=st.integers(min_value=1))
def test_parse_size_of_an_int_is_that_many_bytes(n: int) -> None:
    assert parse_size(n) == n
    assert parse_size(str(n)) == n


@unhurried
@given(
    d=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**9), places=3),
    unit=st.sampled_from(sorted(u for u in SIZE_UNITS if SIZE_UNITS[u] >= 1000)),
)
def test_parse_size_decimals_are_exact_to_the_byte(d: Decimal, unit: str) -> None:
    """``1.001KB`` is 1001 bytes, not 1000 after a float rounds it down."""
    exact = d * SIZE_UNITS[unit]
    assume(exact >= 1)

    assert parse_size(f"{d}{unit}") == int(exact)


@unhurried
@given(st.integers(min_value=1, max_value=2**50))
def test_format_size_reads_back_within_its_rounding(n_bytes: int) -> None:
    """A size shown in a tag (``768.0 MiB``) can be pasted back as a cap."""
    text = format_size(n_bytes)

    assert abs(parse_size(text) - n_bytes) <= 0.05 * n_bytes


@unhurried
@given(st.text(max_size=12))
def test_parse_size_any_text_is_a_positive_size_or_a_usage_error(text: str) -> None:
    try:
        size = parse_size(text)
    except UsageError as exc:
        assert SIZE_FORMS in str(exc)
    else:
        assert isinstance(size, int) and size >= 1


# -- parse_caps ---------------------------------------------------------------------------------

GOOD = {"wall_time": "20s", "memory": "768MiB", "cpus": 1, "grace": "1s", "soft_fraction": 0.8}


def test_parse_caps_of_a_good_node() -> None:
    caps = parse_caps(GOOD)

    assert caps == Caps(wall_time=20.0, memory=768 * 2**20, cpus=1, grace=1.0, soft_fraction=0.8)
    assert caps.soft_time == pytest.approx(16.0)
    assert caps.as_tags() == {
        "shorts.caps.wall_time": "20.0s",
        "shorts.caps.memory": "768.0 MiB",
        "shorts.caps.cpus": "1",
        "shorts.caps.grace": "1.0s",
    }


def test_parse_caps_of_an_omegaconf_node() -> None:
    from omegaconf import OmegaConf

    assert parse_caps(OmegaConf.create(GOOD)) == parse_caps(GOOD)


def test_parse_caps_defaults_grace_cpus_and_soft_fraction() -> None:
    caps = parse_caps({"wall_time": "1m", "memory": "1GiB"})

    assert (caps.cpus, caps.grace, caps.soft_fraction) == (1, 2.0, 0.9)


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"cpus": 0}, "caps.cpus=0"),
        ({"cpus": -2}, "caps.cpus=-2"),
        ({"cpus": "two"}, "caps.cpus='two'"),
        ({"cpus": 1.5}, "caps.cpus=1.5"),
        ({"cpus": True}, "caps.cpus=True"),
        ({"cpus": None}, "caps.cpus=None"),
        ({"wall_time": "soon"}, "caps.wall_time='soon'"),
        ({"wall_time": None}, "caps.wall_time=None"),
        ({"wall_time": True}, "caps.wall_time=True"),
        ({"memory": "lots"}, "caps.memory='lots'"),
        ({"memory": False}, "caps.memory=False"),
        ({"grace": "-1s"}, "caps.grace='-1s'"),
        ({"soft_fraction": 0}, "caps.soft_fraction=0"),
        ({"soft_fraction": 1.5}, "caps.soft_fraction=1.5"),
        ({"soft_fraction": True}, "caps.soft_fraction=True"),
        ({"soft_fraction": "most"}, "caps.soft_fraction='most'"),
    ],
)
def test_parse_caps_refuses_bad_values_naming_the_key(change: dict[str, Any], names: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_caps({**GOOD, **change})

    assert names in str(info.value)
    assert "\n" not in str(info.value)


def test_cpus_error_says_what_is_expected() -> None:
    with pytest.raises(UsageError, match=r"whole number of cores, at least 1"):
        parse_caps({**GOOD, "cpus": "two"})


def test_parse_caps_defaults_headroom_and_on_memout_for_caps_files_without_them() -> None:
    caps = parse_caps({"wall_time": "1m", "memory": "1GiB"})

    assert (caps.headroom, caps.on_memout) == (1.5, "fail")


@pytest.mark.parametrize(
    ("headroom", "factor"), [(1, 1.0), (1.5, 1.5), (100, 100.0), ("2", 2.0), ("1.25", 1.25)]
)
def test_parse_caps_accepts_a_headroom_from_1_to_100(headroom: Any, factor: float) -> None:
    assert parse_caps({**GOOD, "headroom": headroom}).headroom == factor


@pytest.mark.parametrize("headroom", [0.99, 0, -1.5, 100.01, True, "lots", None, float("nan")])
def test_parse_caps_refuses_a_headroom_outside_1_to_100_in_one_line(headroom: Any) -> None:
    with pytest.raises(UsageError) as info:
        parse_caps({**GOOD, "headroom": headroom})

    message = str(info.value)
    assert message.startswith(f"caps.headroom={headroom!r} is not accepted")
    assert "a factor from 1 to 100" in message
    assert "\n" not in message


@pytest.mark.parametrize("on_memout", ["fail", "retry"])
def test_parse_caps_accepts_on_memout_fail_or_retry(on_memout: str) -> None:
    assert parse_caps({**GOOD, "on_memout": on_memout}).on_memout == on_memout


@pytest.mark.parametrize("on_memout", ["Retry", "always", "", None, True, 1])
def test_parse_caps_refuses_other_on_memout_values_listing_the_accepted_ones(
    on_memout: Any,
) -> None:
    with pytest.raises(UsageError) as info:
        parse_caps({**GOOD, "on_memout": on_memout})

    assert str(info.value) == (f"caps.on_memout={on_memout!r} is not accepted; use fail or retry.")


@given(st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
@unhurried
def test_parse_headroom_of_anything_is_a_factor_in_range_or_a_usage_error(value: Any) -> None:
    try:
        factor = parse_headroom(value)
    except UsageError as exc:
        assert "\n" not in str(exc)
    else:
        assert 1.0 <= factor <= 100.0


def test_every_shipped_caps_preset_declares_headroom_and_on_memout() -> None:
    import yaml

    presets = sorted((REPO / "configs" / "caps").glob("*.yaml"))
    assert presets
    for path in presets:
        raw = yaml.safe_load(path.read_text())
        assert {"headroom", "on_memout"} <= set(raw), path.name
        caps = parse_caps(raw)
        assert (caps.headroom, caps.on_memout) == (1.5, "fail"), path.name


@pytest.mark.parametrize("raw", [None, "20s", 3, ["20s"]])
def test_parse_caps_refuses_a_node_that_is_not_a_mapping(raw: Any) -> None:
    with pytest.raises(UsageError, match="caps must be a mapping"):
        parse_caps(raw)


# -- preflight ----------------------------------------------------------------------------------


def _caps(cpus: int = 1, memory: int = 2**20) -> Caps:
    return Caps(wall_time=10.0, memory=memory, cpus=cpus, grace=1.0)


@pytest.fixture
def two_cores_4gib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(
        psutil, "virtual_memory", lambda: SimpleNamespace(available=4 * 2**30, total=8 * 2**30)
    )


@pytest.mark.usefixtures("two_cores_4gib")
def test_preflight_accepts_caps_within_the_machine() -> None:
    preflight(_caps(cpus=2, memory=4 * 2**30))
    preflight(_caps(cpus=1, memory=1))


@pytest.mark.usefixtures("two_cores_4gib")
def test_preflight_refuses_more_cpus_than_the_affinity_allows() -> None:
    with pytest.raises(UsageError) as info:
        preflight(_caps(cpus=3))

    message = str(info.value)
    assert "caps.cpus=3" in message
    assert "2 core(s)" in message
    assert "between 1 and 2" in message


@pytest.mark.usefixtures("two_cores_4gib")
def test_preflight_refuses_more_memory_than_available() -> None:
    with pytest.raises(UsageError) as info:
        preflight(_caps(memory=5 * 2**30))

    message = str(info.value)
    assert "caps.memory=5.0 GiB" in message
    assert "4.0 GiB" in message
    assert "available" in message


def test_preflight_uses_the_real_affinity_not_the_core_count() -> None:
    usable = len(os.sched_getaffinity(0))
    preflight(_caps(cpus=usable))
    with pytest.raises(UsageError, match=f"use {usable} core"):
        preflight(_caps(cpus=usable + 1))


def test_preflight_refuses_an_unsupported_os(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caps_module.sys, "platform", "darwin")

    with pytest.raises(UsageError, match="not supported"):
        preflight(_caps())
