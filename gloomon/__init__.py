"""gloomon: a live terminal dashboard and check command for Gloo Gateway's internal mTLS."""

__version__ = "0.1.0"
