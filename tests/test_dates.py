"""Dates in words, as every page, email and calendar event says them."""

from datetime import date, timedelta

import pytest

from tracker.dates import overdue_words, relative_day, short_date

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (date(2026, 12, 3), "3 Dec"),
        (date(2026, 1, 31), "31 Jan"),
        (date(2027, 2, 1), "1 Feb 2027"),
        (date(2025, 9, 9), "9 Sep 2025"),
    ],
)
def test_short_date_names_the_year_only_when_it_is_not_this_one(day, words):
    assert short_date(day, TODAY) == words


def test_short_date_names_every_month_in_english():
    months = [short_date(date(2026, month, 1), TODAY).split()[1] for month in range(1, 13)]
    assert months == [date(2026, month, 1).strftime("%b") for month in range(1, 13)]


@pytest.mark.parametrize(
    ("offset", "relative", "due"),
    [
        (0, "today", "due today"),
        (1, "tomorrow", "due tomorrow"),
        (5, "in 5 days", "due in 5 days"),
        (-1, "yesterday", "1 day overdue"),
        (-3, "3 days ago", "3 days overdue"),
    ],
)
def test_days_in_words(offset, relative, due):
    day = TODAY + timedelta(days=offset)
    assert relative_day(day, TODAY) == relative
    assert overdue_words(day, TODAY) == due
