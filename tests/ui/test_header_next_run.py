"""The header's next certgen run: clock time, with the date when not today; no CronJob; suspended; each
management context's, by its context."""

from __future__ import annotations

from dataclasses import replace

from gloomon.domain.model import CronJobState
from gloomon.lab import snapshots as fx
from gloomon.lab.snapshots.contexts import two_clusters
from gloomon.ui.widgets.header_bar import certgen_words, cron_words


def test_next_run_in_clock_time_with_the_date_when_not_today() -> None:
    assert cron_words(fx.steady(), fx.NOW) == "next run Thu 26 Nov 00:00 UTC (in 3h)"
    hourly = replace(fx.steady(), cronjob=replace(fx.CRONJOB, schedule="0 23 * * *"))
    assert cron_words(hourly, fx.NOW) == "next run 23:00 UTC (in 2h)"
    assert cron_words(hourly, fx.NOW, short=True) == "next run in 2h"
    assert cron_words(replace(fx.steady(), cronjob=None), fx.NOW) == "no certgen CronJob"
    suspended = CronJobState("gloo-mtls-certgen-cronjob", "0 */6 * * *", True)
    assert cron_words(replace(fx.steady(), cronjob=suspended), fx.NOW) == "certgen suspended"


def test_two_clusters_say_each_certgens_next_run_by_its_context() -> None:
    """Two management contexts run two certgens: each is said, by its context; said once where they
    agree, for a narrow header."""
    both = two_clusters()
    assert certgen_words(both, fx.NOW, short=True) == "east next run in 3h · west next run in 3h"
    assert certgen_words(both, fx.NOW, short=True, once=True) == "next run in 3h"
    east, west = both.cronjobs
    paused = replace(both, cronjobs=(east, replace(west, suspended=True)))
    assert certgen_words(paused, fx.NOW, short=True) == "east next run in 3h · west certgen suspended"
    assert certgen_words(paused, fx.NOW, short=True, once=True) == ""
    # one context (or split planes: certgen in mgmt only): as before
    assert certgen_words(fx.steady(), fx.NOW) == cron_words(fx.steady(), fx.NOW)
