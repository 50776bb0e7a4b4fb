"""Send later's time: read in the person's zone, stored in UTC, refused when past or too far."""
from datetime import datetime, timezone

import pytest

from core.services.errors import InvalidInput
from core.services.mail.scheduled import send_time

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=timezone.utc)


def test_the_local_time_of_the_zone_becomes_utc():
    assert send_time("2026-03-30T09:30", "Europe/Rome", NOW) == datetime(2026, 3, 30, 7, 30, tzinfo=timezone.utc)
    assert send_time("2026-03-28T09:30", "America/New_York", NOW) == datetime(2026, 3, 28, 13, 30, tzinfo=timezone.utc)


def test_across_a_daylight_saving_change_the_offset_of_that_day_counts():
    # Rome moves to summer time on 29 March 2026: 09:30 is 08:30 UTC before, 07:30 after.
    assert send_time("2026-03-29T01:30", "Europe/Rome", NOW).hour == 0
    assert send_time("2026-03-29T09:30", "Europe/Rome", NOW).hour == 7


def test_no_zone_means_utc():
    assert send_time("2026-03-28T13:00", "", NOW) == datetime(2026, 3, 28, 13, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("typed, zone, words", [
    ("2026-03-28T11:59", "UTC", "has passed"),
    ("2027-03-30T12:00", "UTC", "up to a year"),
    ("tomorrow", "UTC", "Choose the date"),
    ("", "UTC", "Choose the date"),
    ("2026-03-30T12:00+02:00", "UTC", "Choose the date"),
    ("2026-03-30T12:00", "Mars/Olympus", "Unknown time zone"),
    ("2026-03-30T12:00", "../../etc/passwd", "Unknown time zone"),
])
def test_refusals_say_why(typed, zone, words):
    with pytest.raises(InvalidInput, match=words):
        send_time(typed, zone, NOW)
