"""The scope of a request: who asks for what, as one frozen (hashable, cache-key-safe) value.

Every query and every read of a stored run takes a :class:`Scope`: the period, the global
filters a user chose (region, channel, segment) and the regions the signed-in user may see.
Access is enforced where data is read: :func:`dashboard.storage.sql.customer_scope` turns a
scope into the one SQL condition every customer-level query applies, so no page, link or
filter can widen it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta


@dataclass(frozen=True)
class Scope:
    """Period, filters and allowed regions of a view.

    Parameters
    ----------
    start, end:
        The period, both days inclusive.
    regions, channels:
        Customer regions and acquisition channels to include; an empty tuple means all.
    segments:
        Segment numbers (of the saved segment run ``segment_run_id``) to include; empty = all.
    segment_run_id:
        The saved segmentation the segment filter refers to (None when there is none).
    allowed_regions:
        Row-level access: regions the signed-in user may see; None = no restriction. Always
        intersected with ``regions`` by the query layer, so no page can widen it.
    """

    start: date
    end: date
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    segments: tuple[int, ...] = ()
    segment_run_id: int | None = None
    allowed_regions: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period end {self.end} is before its start {self.start}")

    @property
    def days(self) -> int:
        """Length of the period in days (inclusive)."""
        return (self.end - self.start).days + 1

    def previous_period(self) -> Scope:
        """The period of the same length that ends the day before this one starts.

        Whole calendar months compare with the same number of whole months before them
        (Jul-Sep with Apr-Jun, not with the 92 days from 31 Mar); other periods with the same
        number of days.
        """
        end = self.start - timedelta(days=1)
        months = self._whole_months()
        if months:
            start_month = (self.start.year * 12 + self.start.month - 1) - months
            start = date(start_month // 12, start_month % 12 + 1, 1)
            return replace(self, start=start, end=end)
        return replace(self, start=end - timedelta(days=self.days - 1), end=end)

    def _whole_months(self) -> int:
        """Number of calendar months the period spans exactly, or 0 if it is not whole months."""
        if self.start.day != 1 or (self.end + timedelta(days=1)).day != 1:
            return 0
        return (self.end.year * 12 + self.end.month) - (self.start.year * 12 + self.start.month) + 1

    def effective_regions(self) -> tuple[str, ...] | None:
        """Regions to restrict to (None = all), after row-level access is applied."""
        if self.allowed_regions is None:
            return self.regions or None
        if not self.regions:
            return self.allowed_regions
        return tuple(r for r in self.regions if r in self.allowed_regions)

    def describe(self, segment_names: Mapping[int, str] | None = None) -> str:
        """One line saying what the view covers, for captions and exports.

        ``segment_names`` maps segment numbers to their names (shown instead of numbers).
        """
        parts = [f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"]
        regions = self.effective_regions()
        parts.append("regions: " + (", ".join(regions) if regions else "all"))
        parts.append("channels: " + (", ".join(self.channels) if self.channels else "all"))
        if self.segments:
            names = segment_names or {}
            parts.append("segments: " + ", ".join(names.get(s, str(s)) for s in self.segments))
        return " · ".join(parts)
