"""``gloomon bundle``: a support archive (.tar.gz) of what gloomon sees, with every secret redacted."""
