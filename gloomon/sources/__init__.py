"""The IO side of the data path: Kubernetes discovery, port-forwards, admin polling, log following.

Knows nothing of Textual. Entry point: :class:`gloomon.sources.session.MonitorSession`.
"""
