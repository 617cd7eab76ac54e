"""The journal and its delivery on a real embedded MLflow store: whole lines only, from where the
last delivery stopped, and idempotent however often it is replayed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shorts import record
from shorts.tracking.delivery import Delivery, delivered
from shorts.tracking.journal import Journal, lost_closing, outcome, read_journal


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def start(folder: Path, uri: str, started: float) -> Journal:
    return Journal.start(
        folder,
        {
            "at": started,
            "uri": uri,
            "experiment": "journaled",
            "artifact_root": str(folder.parent / "artifacts"),
            "run_name": "journaled-run",
            "start": started,
            "params": {"model.alpha": "0.5"},
            "tags": {"shorts.outcome": "running"},
        },
    )


def metric_points(journal: Journal, first: int, count: int, started: float) -> None:
    for step in range(first, first + count):
        journal.append(
            {
                "t": "metric",
                "k": "loss",
                "v": 1 / (step + 1),
                "s": step,
                "ts": int(started * 1000) + step,
            }
        )


def close(journal: Journal, started: float) -> None:
    journal.append(
        {
            "t": "close",
            "at": started + 9,
            "end": started + 9,
            "outcome": "completed",
            "reason": "done",
            "status": "FINISHED",
            "metrics": {"rmse": 1.5},
            "tags": {"shorts.outcome": "completed"},
            "artifacts": {},
        },
        durable=True,
    )


def test_a_cut_last_line_is_left_out_and_named(tmp_path: Path) -> None:
    journal = start(tmp_path / "run", "sqlite:////nowhere.db", 100.0)
    metric_points(journal, 0, 3, 100.0)
    journal.close()
    with open(journal.path, "ab") as handle:
        handle.write(b'{"t":"metric","k":"lo')

    reading = read_journal(journal.path)

    assert [e["t"] for _, e in reading.events] == ["open", "metric", "metric", "metric"]
    assert reading.cut == [f"a partial last line of 21 bytes at byte {reading.end}"]
    assert outcome(reading) is None
    lost = lost_closing(reading, "the supervisor died")
    assert lost["outcome"] == "lost" and lost["status"] == "KILLED"
    assert lost["end"] == pytest.approx(100.0 + 0.002), "ended at its last recorded event"


def test_an_unreadable_line_is_skipped_and_the_lines_after_it_kept(tmp_path: Path) -> None:
    journal = start(tmp_path / "run", "sqlite:////nowhere.db", 100.0)
    journal.close()
    with open(journal.path, "ab") as handle:
        handle.write(b"\x00\x00garbage\n")
    again = Journal(journal.path)
    close(again, 100.0)
    again.close()

    reading = read_journal(journal.path)

    assert [e["t"] for _, e in reading.events] == ["open", "close"]
    assert len(reading.cut) == 1 and reading.cut[0].startswith("an unreadable line of 10 bytes")


def test_delivery_resumes_where_it_stopped_and_replays_to_one_run(tmp_path: Path, uri: str) -> None:
    from mlflow.tracking import MlflowClient

    started = time.time() - 100
    journal = start(tmp_path / "run", uri, started)
    metric_points(journal, 0, 1500, started)

    first = Delivery(journal.path)
    assert first.run() is False, "no outcome yet"
    run_id = delivered(journal.path).run_id
    assert run_id is not None and delivered(journal.path).offset == journal.path.stat().st_size

    metric_points(journal, 1500, 1000, started)
    close(journal, started)
    journal.close()
    assert Delivery(journal.path).run() is True
    # Replayed from the start, as if the notes of the delivery were lost.
    journal.path.with_suffix(".delivered.json").unlink()
    assert Delivery(journal.path).run() is True
    assert Delivery(journal.path).run() is True

    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("journaled").experiment_id])
    assert [r.info.run_id for r in runs] == [run_id]
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.info.start_time == int(started * 1000)
    assert (
        run.data.tags[record.JOURNAL] == json.loads(journal.path.read_text().splitlines()[0])["id"]
    )
    assert run.data.params == {"model.alpha": "0.5"}
    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(2500))


def test_a_child_named_by_its_parents_journal_waits_for_the_parent_then_nests_under_it(
    tmp_path: Path, uri: str
) -> None:
    """A multirun's or sweep's parent the store never took: its children name its journal, and
    are linked to it once it is delivered."""
    from mlflow.tracking import MlflowClient

    started = time.time() - 100
    parent = start(tmp_path / "parent", uri, started)
    child = Journal.start(
        tmp_path / "child",
        {
            "at": started,
            "uri": uri,
            "experiment": "journaled",
            "artifact_root": str(tmp_path / "artifacts"),
            "run_name": "child",
            "start": started + 1,
            "params": {},
            "tags": {},
            "parent_journal": str(parent.path),
        },
    )
    close(child, started)

    with pytest.raises(LookupError, match="parent run is not in MLflow yet"):
        Delivery(child.path).run()
    assert Delivery(parent.path).run() is False, "open, not closed yet"
    assert Delivery(child.path).run() is True

    parent_id = delivered(parent.path).run_id
    child_run = MlflowClient(uri).get_run(str(delivered(child.path).run_id))
    assert child_run.data.tags[record.PARENT_RUN] == parent_id
