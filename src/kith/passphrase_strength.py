"""How hard a new passphrase is to guess, and the rule that refuses weak ones.

The estimate is zxcvbn's (dictionary words, names, keyboard patterns, dates,
repeats, common substitutions), scored 0 to 4. A new passphrase needs
:data:`MIN_SCORE` unless the user asks for a weak one (``--allow-weak``).
The passphrase itself never appears in a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from kith.errors import PassphraseError
from kith.passphrases import PassphraseSource

__all__ = ["MIN_SCORE", "Strength", "StrengthChecked", "WeakPassphraseError", "estimate"]

MIN_SCORE: Final = 3
"""zxcvbn's "safely unguessable" band: about 10^8 guesses or more."""
_MAX_SCORED_CHARS: Final = 72
"""zxcvbn refuses longer input; a longer passphrase is scored by its first 72 characters."""


class WeakPassphraseError(PassphraseError):
    """A new passphrase is too easy to guess."""

    code = "weak_passphrase"


@dataclass(frozen=True, slots=True)
class Strength:
    """zxcvbn's verdict: ``score`` 0 (guessed at once) to 4, and its advice."""

    score: int
    warning: str
    suggestions: tuple[str, ...]
    offline_crack_time: str

    @property
    def strong_enough(self) -> bool:
        """Whether the score reaches :data:`MIN_SCORE`."""
        return self.score >= MIN_SCORE

    def advice(self) -> str:
        """One line of advice for a person (never the passphrase)."""
        parts = [p for p in (self.warning, *self.suggestions) if p]
        return " ".join(parts) or "Use four or more uncommon words."


def estimate(passphrase: str, user_inputs: Sequence[str] = ()) -> Strength:
    """Score ``passphrase``; ``user_inputs`` (a name, the data directory) count as guessable."""
    from zxcvbn import zxcvbn

    result = zxcvbn(passphrase[:_MAX_SCORED_CHARS], user_inputs=[u for u in user_inputs if u])
    feedback = result["feedback"]
    return Strength(
        score=int(result["score"]),
        warning=str(feedback.get("warning") or ""),
        suggestions=tuple(str(s) for s in feedback.get("suggestions") or ()),
        offline_crack_time=str(
            result["crack_times_display"]["offline_slow_hashing_1e4_per_second"]
        ),
    )


class StrengthChecked:
    """A :class:`PassphraseSource` for a *new* passphrase that refuses weak ones.

    An empty passphrase passes through, so the account's own check names it.

    Args:
        source: Where the passphrase comes from (environment or prompt).
        user_inputs: Words an attacker would try first (the user's name).
    """

    def __init__(self, source: PassphraseSource, user_inputs: Sequence[str] = ()) -> None:
        self._source = source
        self._user_inputs = tuple(user_inputs)

    def passphrase(self, prompt: str, *, confirm: bool = False) -> str:
        value = self._source.passphrase(prompt, confirm=confirm)
        if not value:
            return value
        strength = estimate(value, self._user_inputs)
        if not strength.strong_enough:
            raise WeakPassphraseError(
                f"that passphrase is too easy to guess (strength {strength.score} of 4, "
                f"{MIN_SCORE} needed; an attacker with the key file would need about "
                f"{strength.offline_crack_time}). {strength.advice()} "
                "To use it anyway, add --allow-weak."
            )
        return value
