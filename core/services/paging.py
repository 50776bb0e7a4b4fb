"""One page of a query, counted and cut by the database: the admin lists never load every row.

At 100,000 mailboxes a list page still asks for two things, the count and one page of
rows (LIMIT/OFFSET on an indexed order), on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PER_PAGE = 50
MAX_PAGE = 10**6


@dataclass(frozen=True)
class Page:
    """ROWS of page PAGE (from 1) of a result of TOTAL rows, PER_PAGE a page."""

    rows: list
    total: int
    page: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        """How many pages the whole result has (at least one)."""
        return max(1, -(-self.total // self.per_page))


def page_number(text: str) -> int:
    """The page a `?page=` asks for; 1 for anything but a sensible positive number."""
    return int(text) if text.isdigit() and 0 < int(text) < MAX_PAGE else 1


def page_of(db: Session, query: Select, page: int, per_page: int = PER_PAGE,
            whole_rows: bool = False) -> Page:
    """Page PAGE of QUERY (which must be ordered); a page past the end shows the last one.
    Its rows are the first column's values, or WHOLE_ROWS."""
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = _within(page, total, per_page)
    cut = query.limit(per_page).offset((page - 1) * per_page)
    rows = list(db.execute(cut) if whole_rows else db.scalars(cut))
    return Page(rows, total, page, per_page)


def page_of_list(items: list, page: int, per_page: int = PER_PAGE) -> Page:
    """Page PAGE of ITEMS, already read and sorted (a page past the end shows the last one)."""
    page = _within(page, len(items), per_page)
    return Page(items[(page - 1) * per_page:page * per_page], len(items), page, per_page)


def _within(page: int, total: int, per_page: int) -> int:
    """PAGE, or the nearest page that a result of TOTAL rows has."""
    return min(max(1, page), max(1, -(-total // per_page)))
