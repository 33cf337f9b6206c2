"""``gloomon serve``: the fleet's snapshots as Prometheus metrics, over HTTP.

The exporter renders; it never judges. It consumes the same session's ``snapshots()`` as the dashboard
(one poll loop, no second poller), turns each snapshot into metric families once (``metrics``), renders
the exposition bytes once per snapshot and format (``exposition``), and answers scrapes from those bytes
(``server``). Scrapes never trigger polls.
"""
