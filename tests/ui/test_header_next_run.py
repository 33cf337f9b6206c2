"""The header's next certgen run: clock time, with the date when not today; no CronJob; suspended."""

from __future__ import annotations

from dataclasses import replace

from gloomon.domain.model import CronJobState
from gloomon.lab import snapshots as fx
from gloomon.ui.widgets.header_bar import cron_words


def test_next_run_in_clock_time_with_the_date_when_not_today() -> None:
    assert cron_words(fx.steady(), fx.NOW) == "next run Thu 26 Nov 00:00 UTC (in 3h)"
    hourly = replace(fx.steady(), cronjob=replace(fx.CRONJOB, schedule="0 23 * * *"))
    assert cron_words(hourly, fx.NOW) == "next run 23:00 UTC (in 2h)"
    assert cron_words(hourly, fx.NOW, short=True) == "next run in 2h"
    assert cron_words(replace(fx.steady(), cronjob=None), fx.NOW) == "no certgen CronJob"
    suspended = CronJobState("gloo-mtls-certgen-cronjob", "0 */6 * * *", True)
    assert cron_words(replace(fx.steady(), cronjob=suspended), fx.NOW) == "certgen suspended"
