"""The calendar of the generation window: days, months, weekdays and the festive season.

The window covers ``months`` whole calendar months ending with the month of ``end_date``
(the last month is cut at ``end_date``). Festive intensity (0..1) comes from the ``holidays``
package's India calendar: the fortnight before Diwali (peak on Dhanteras), Navratri up to
Dussehra, and a day either side of Holi, Eid, Christmas, Republic and Independence Day (sales).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import holidays
import numpy as np

__all__ = ["Timeline", "build_timeline"]

_NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True)
class Timeline:
    """Per-day and per-month arrays of the window; day indices count from its first day."""

    start: dt.date
    end: dt.date
    day_ns: np.ndarray  # int64 nanoseconds since the epoch of each day's midnight
    dow: np.ndarray  # 0 = Monday
    dom: np.ndarray  # day of month, 1..31
    cal_month: np.ndarray  # 1..12 of each day
    festive: np.ndarray  # festive intensity 0..1 of each day
    month_first: np.ndarray  # first day index of each window month
    month_stop: np.ndarray  # one past the last day index of each window month (cut at the end)
    month_len: np.ndarray  # days in each calendar month (uncut)
    month_cal: np.ndarray  # 1..12 of each window month
    month_year: np.ndarray  # calendar year of each window month

    @property
    def n_days(self) -> int:
        """Days in the window."""
        return int(self.day_ns.size)

    @property
    def n_months(self) -> int:
        """Calendar months in the window (the last may be cut short)."""
        return int(self.month_first.size)

    def fraction(self) -> np.ndarray:
        """The part of each window month inside the window (1.0 except a cut last month)."""
        return np.asarray((self.month_stop - self.month_first) / self.month_len, dtype=np.float64)

    def day_of(self, month: np.ndarray, dom: np.ndarray) -> np.ndarray:
        """Day index of day-of-month ``dom`` (clipped to the month's length) in ``month``; -1 past the end."""
        day = self.month_first[month] + np.minimum(dom, self.month_len[month]) - 1
        return np.where(day < self.month_stop[month], day, -1)

    def last_working_day(self) -> np.ndarray:
        """Day index of each month's last Monday-to-Friday; -1 where that is past the window's end."""
        last = self.month_first + self.month_len - 1
        dow_last = (self.dow[0] + last) % 7
        back = np.where(dow_last == 5, 1, np.where(dow_last == 6, 2, 0))
        day = last - back
        return np.where(day < self.month_stop, day, -1)

    def sample_days(self, weights: np.ndarray, month: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each entry of ``month``, a day of that month drawn in proportion to ``weights``."""
        cum = np.cumsum(weights)
        lo = np.where(self.month_first > 0, cum[self.month_first - 1], 0.0)[month]
        hi = cum[self.month_stop - 1][month]
        target = lo + rng.random(month.size) * (hi - lo)
        day = np.searchsorted(cum, target, side="right")
        return np.asarray(np.clip(day, self.month_first[month], self.month_stop[month] - 1), dtype=np.int64)

    def month_of(self, day: np.ndarray) -> np.ndarray:
        """The window month of each day index."""
        return np.searchsorted(self.month_first, day, side="right") - 1

    def timestamp_ns(self, day: np.ndarray, second: np.ndarray) -> np.ndarray:
        """int64 nanoseconds (IST wall clock, as if UTC) of a day index and seconds after midnight."""
        return np.asarray(self.day_ns[day] + second.astype(np.int64) * _NS_PER_SECOND, dtype=np.int64)


def build_timeline(end: dt.date, months: int) -> Timeline:
    """The window of ``months`` calendar months ending with ``end``'s month, cut at ``end``."""
    end_month = np.datetime64(end, "M")
    start_month = end_month - (months - 1)
    days = np.arange(start_month.astype("datetime64[D]"), np.datetime64(end, "D") + 1)
    month_starts = np.arange(start_month, end_month + 2).astype("datetime64[D]")
    first_day = days[0]
    month_first = (month_starts[:-1] - first_day).astype(np.int64)
    month_len = np.diff(month_starts).astype(np.int64)
    month_stop = np.minimum(month_first + month_len, days.size)
    month_num = np.arange(start_month, end_month + 1).astype(np.int64)
    start = dt.date.fromisoformat(str(first_day))
    return Timeline(
        start=start,
        end=end,
        day_ns=days.astype("datetime64[ns]").astype(np.int64),
        dow=((days.astype(np.int64) + 3) % 7).astype(np.int8),
        dom=(days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1,
        cal_month=(days.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int8),
        festive=_festive(start, end, days.size),
        month_first=month_first,
        month_stop=month_stop,
        month_len=month_len,
        month_cal=(month_num % 12 + 1).astype(np.int8),
        month_year=(month_num // 12 + 1970).astype(np.int16),
    )


def _festive(start: dt.date, end: dt.date, n_days: int) -> np.ndarray:
    """Festive intensity of each day: Diwali fortnight, Navratri-Dussehra, one-day festivals and sales."""
    intensity = np.zeros(n_days, dtype=np.float64)
    calendar = holidays.country_holidays("IN", years=range(start.year - 1, end.year + 2))

    def mark(day: dt.date, value: float) -> None:
        index = (day - start).days
        if 0 <= index < n_days:
            intensity[index] = max(intensity[index], value)

    for day, name in sorted(calendar.items()):
        if "Diwali" in name:
            for back in range(15):  # the run-up: Dhanteras (two days before) is the buying peak
                mark(day - dt.timedelta(days=back), 1.0 if back == 2 else (0.8 if back < 5 else 0.6))
            mark(day + dt.timedelta(days=1), 0.3)
        elif "Dussehra" in name:
            for back in range(10):
                mark(day - dt.timedelta(days=back), 0.45)
        elif any(f in name for f in ("Holi", "Eid al-Fitr", "Christmas", "Republic", "Independence")):
            mark(day, 0.35)
            mark(day - dt.timedelta(days=1), 0.35)
    return intensity
