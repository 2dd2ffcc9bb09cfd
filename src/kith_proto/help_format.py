"""The ``--help`` layout both commands (``kith``, ``kith-signal``) share: defaults shown.

Pure: an :mod:`argparse` formatter, no I/O of its own.
"""

from __future__ import annotations

import argparse
import copy

__all__ = ["DefaultsHelpFormatter"]


class DefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends ``(default: X)`` to each option that has a default worth showing.

    Options whose help already names its default, flags (default ``False``),
    and options without a default (``None``, an empty list) are left as written;
    an option without help text still shows its default.
    """

    def _format_action(self, action: argparse.Action) -> str:
        if action.help is None and _worth_showing(action):
            action = copy.copy(action)
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text.lower() or text == argparse.SUPPRESS or not _worth_showing(action):
            return action.help
        return f"{text} (default: %(default)s)"


def _worth_showing(action: argparse.Action) -> bool:
    default = action.default
    if not action.option_strings or default is argparse.SUPPRESS:
        return False
    return default not in (None, False, "", [], ())
