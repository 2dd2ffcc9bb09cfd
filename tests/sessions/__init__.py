"""Tests of the pure session layer (kith.sessions)."""
