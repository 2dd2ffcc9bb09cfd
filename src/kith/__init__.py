"""Kith: a private, end-to-end encrypted, peer-to-peer messenger."""

__version__ = "0.1.0"
