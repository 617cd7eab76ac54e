"""Which cores a run is pinned to: parallel runs claim different free cores, machine-wide.

Each test uses its own lock folder, so real shorts running on the machine meanwhile neither see
these claims nor disturb them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shorts.runner.cores import CoreClaim

USABLE = sorted(os.sched_getaffinity(0))
two_cores = pytest.mark.skipif(len(USABLE) < 2, reason="needs 2 usable cores")


@two_cores
def test_two_claims_take_different_cores(tmp_path: Path) -> None:
    first, second = CoreClaim(1, tmp_path), CoreClaim(1, tmp_path)
    try:
        a, b = first.acquire(), second.acquire()

        assert len(a) == len(b) == 1
        assert a != b
        assert set(a + b) <= set(USABLE)
    finally:
        first.release()
        second.release()


@two_cores
def test_a_released_core_can_be_claimed_again(tmp_path: Path) -> None:
    first, second = CoreClaim(1, tmp_path), CoreClaim(1, tmp_path)
    claimed = first.acquire()
    second.acquire()
    first.release()
    third = CoreClaim(1, tmp_path)
    try:
        assert third.acquire() == claimed
    finally:
        second.release()
        third.release()


def test_when_every_core_is_claimed_the_cap_still_holds(tmp_path: Path) -> None:
    holders = [CoreClaim(1, tmp_path) for _ in USABLE]
    late = CoreClaim(1, tmp_path)
    try:
        assert sorted(c for h in holders for c in h.acquire()) == USABLE
        shared = late.acquire()

        assert len(shared) == 1, "a run past the free cores shares one, it does not get none"
        assert shared[0] in USABLE
    finally:
        for holder in [*holders, late]:
            holder.release()


@two_cores
def test_runs_past_the_free_cores_share_them_evenly(tmp_path: Path) -> None:
    claims = [CoreClaim(1, tmp_path) for _ in range(3 * len(USABLE))]
    try:
        chosen = [core for claim in claims for core in claim.acquire()]

        assert sorted(chosen) == sorted(USABLE * 3), "each core shared by three, none by four"
    finally:
        for claim in claims:
            claim.release()


def test_a_claim_of_several_cores_gets_that_many(tmp_path: Path) -> None:
    claim = CoreClaim(len(USABLE), tmp_path)
    try:
        assert claim.acquire() == USABLE
    finally:
        claim.release()
