"""Template filters that make mail data read as people speak."""
from __future__ import annotations

from datetime import datetime, timezone

from babel.dates import format_skeleton
from flask_babel import format_date, format_decimal, format_time, get_locale, get_timezone
from flask_babel import gettext as _

from .blueprint import bp


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(get_timezone())


@bp.app_template_filter("when")
def when(moment: datetime | None, now: datetime | None = None) -> str:
    """'Today 09:12', 'Yesterday', 'Tue', '3 Mar', or '3 Mar 2024' for older years (in the
    person's language and time zone)."""
    if moment is None:
        return ""
    local = _local(moment)
    today = _local(now or datetime.now(timezone.utc)).date()
    days = (today - local.date()).days
    if days == 0:
        return _("Today %(time)s", time=format_time(local, "short"))
    if days == 1:
        return _("Yesterday")
    if 1 < days < 7:
        return format_date(local, "EEE")
    skeleton = "MMMd" if local.year == today.year else "yMMMd"
    return format_skeleton(skeleton, local, locale=get_locale())


@bp.app_template_filter("full_date")
def full_date(moment: datetime | None) -> str:
    """'Tuesday 3 March 2026, 09:12' for the message header and tooltips."""
    if moment is None:
        return _("no date")
    local = _local(moment)
    return _("%(date)s, %(time)s", date=format_date(local, "full"), time=format_time(local, "short"))


@bp.app_template_filter("bytes")
def human_bytes(size: int) -> str:
    """'512 B', '3 KB', '1.2 MB', '2.0 GB' (with the language's decimal separator)."""
    if size < 1024:
        return _("%(size)s B", size=size)
    if size < 1024 * 1024:
        return _("%(size)s KB", size=format_decimal(round(size / 1024)))
    if size < 1024 ** 3:
        return _("%(size)s MB", size=format_decimal(size / 1024 ** 2, "#,##0.0"))
    return _("%(size)s GB", size=format_decimal(size / 1024 ** 3, "#,##0.0"))


@bp.app_template_filter("number")
def number(value: float) -> str:
    """A count or amount with the language's digit grouping: 12,345 / 12.345."""
    return format_decimal(value)


@bp.app_template_filter("who")
def who(pair: tuple[str, str]) -> str:
    """The name of a (name, address) pair, or the address when there is no name."""
    name, address = pair
    return name or address or _("(nobody)")
