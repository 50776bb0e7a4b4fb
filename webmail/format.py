"""Template filters that make mail data read as people speak."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import request

from .blueprint import bp

TZ_COOKIE = "tz"


def _zone():
    try:
        return ZoneInfo(request.cookies.get(TZ_COOKIE, "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(_zone())


@bp.app_template_filter("when")
def when(moment: datetime | None, now: datetime | None = None) -> str:
    """'Today 09:12', 'Yesterday', 'Tue', '3 Mar', or '3 Mar 2024' for older years."""
    if moment is None:
        return ""
    local = _local(moment)
    today = _local(now or datetime.now(timezone.utc)).date()
    days = (today - local.date()).days
    if days == 0:
        return f"Today {local:%H:%M}"
    if days == 1:
        return "Yesterday"
    if 1 < days < 7:
        return f"{local:%a}"
    if local.year == today.year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


@bp.app_template_filter("full_date")
def full_date(moment: datetime | None) -> str:
    """'Tuesday 3 March 2026, 09:12' for the message header and tooltips."""
    if moment is None:
        return "no date"
    local = _local(moment)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M}"


@bp.app_template_filter("bytes")
def human_bytes(size: int) -> str:
    """'512 B', '3 KB', '1.2 MB'."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / 1024 / 1024:.1f} MB"


@bp.app_template_filter("who")
def who(pair: tuple[str, str]) -> str:
    """The name of a (name, address) pair, or the address when there is no name."""
    name, address = pair
    return name or address or "(nobody)"
