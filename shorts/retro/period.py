"""The period a retrospective covers: a calendar quarter, or the days between two ISO dates.

Periods are half-open windows ``[start, end)`` in UTC, so consecutive quarters never share a run;
weeks are ISO weeks (Monday 00:00 UTC). The calendar arithmetic is pandas' ``pd.Period``; only
the accepted spellings are checked here, because ``pd.Period`` also reads ``2026`` as a quarter.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from shorts.errors import UsageError
from shorts.retro.model import Period

__all__ = ["period_from", "week_start", "weeks_of"]

ACCEPTED_FORMS = (
    "use --quarter YYYYQn (e.g. 2026Q4), or --since and/or --until with ISO dates "
    "(e.g. --since 2026-10-01 --until 2026-12-31)"
)
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")
_OPEN_START = datetime(1970, 1, 1, tzinfo=UTC)


def period_from(
    quarter: str | None = None,
    since: str | None = None,
    until: str | None = None,
    now: datetime | None = None,
) -> Period:
    """The period named on the command line; the current quarter when nothing is given.

    Args:
        quarter: ``2026Q4`` (also ``2026-Q4``, ``2026q4``).
        since: first day (or instant) included, as an ISO date or date-time.
        until: last day included when a date (``--until 2026-12-31`` covers the 31st); an ISO
            date-time is the exclusive end instead. Without ``since`` the period is open-ended
            towards the past; without ``until`` it runs to ``now``.
        now: the present, for the default quarter and an open ``until`` (default: the clock).

    Returns:
        The period, labelled ``2026Q4`` or ``2026-10-01 to 2026-12-31``.

    Raises:
        UsageError: a malformed quarter or date, both forms at once, or an empty window.
    """
    now = _as_utc(now) if now is not None else datetime.now(UTC)
    if quarter is not None and (since is not None or until is not None):
        raise UsageError(f"--quarter cannot be combined with --since/--until; {ACCEPTED_FORMS}.")
    if since is None and until is None:
        current = str(pd.Period(now.replace(tzinfo=None), freq="Q"))
        return _quarter(quarter if quarter is not None else current)
    start = _parse_bound(since, "--since", inclusive_day=False) if since else _OPEN_START
    end = _parse_bound(until, "--until", inclusive_day=True) if until else now
    if end <= start:
        raise UsageError(
            f"the period from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC is empty; "
            f"--since must come before --until (and before now when --until is left out)."
        )
    return Period(start=start, end=end, label=_label(start, end, open_start=since is None))


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week ``moment`` falls in."""
    return _utc(pd.Period(_as_utc(moment).replace(tzinfo=None), freq="W-SUN").start_time)


def weeks_of(period: Period, not_after: datetime | None = None) -> list[datetime]:
    """Monday starts of every week that overlaps ``period`` (and begins before ``not_after``).

    ``not_after`` (usually "now") keeps a current quarter's trend from listing weeks that have not
    started yet; an open-ended period yields its weeks from 1970, so callers clip those first.
    """
    end = period.end if not_after is None else min(period.end, _as_utc(not_after))
    mondays = pd.date_range(week_start(period.start), end, freq="W-MON", inclusive="left")
    return [monday.to_pydatetime() for monday in mondays]


def _quarter(text: str) -> Period:
    match = _QUARTER.match(text)
    if match is None:
        raise UsageError(f"--quarter={text!r} is not a quarter; {ACCEPTED_FORMS}.")
    year, q = int(match.group(1)), int(match.group(2))
    if year < 1970:
        raise UsageError(f"--quarter={text!r} is before MLflow's epoch (1970); {ACCEPTED_FORMS}.")
    quarter = pd.Period(year=year, quarter=q, freq="Q")
    return Period(
        start=_utc(quarter.start_time), end=_utc((quarter + 1).start_time), label=str(quarter)
    )


def _parse_bound(text: str, flag: str, inclusive_day: bool) -> datetime:
    """An ISO date (midnight UTC; the next midnight for an inclusive ``--until``) or date-time."""
    value = text.strip()
    try:
        if len(value) == 10:  # YYYY-MM-DD
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return moment + timedelta(days=1) if inclusive_day else moment
        return _as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise UsageError(f"{flag}={text!r} is not an ISO date; {ACCEPTED_FORMS}.") from None


def _label(start: datetime, end: datetime, open_start: bool) -> str:
    """Whole days read inclusively (``2026-10-01 to 2026-12-31``); other instants as given."""
    if start.time() == time() and end.time() == time():
        shape, last = "%Y-%m-%d", end - timedelta(days=1)
    else:
        shape, last = "%Y-%m-%d %H:%M", end
    if open_start:
        return f"until {last:{shape}}"
    return f"{start:{shape}} to {last:{shape}}"


def _utc(moment: pd.Timestamp) -> datetime:
    """A naive pandas timestamp (a period's edge) as a UTC ``datetime``."""
    edge: datetime = moment.tz_localize(UTC).to_pydatetime()
    return edge


def _as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
