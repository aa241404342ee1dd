"""Password hashing with argon2id (``argon2-cffi``), and the password policy.

Hashes are argon2id strings (``$argon2id$v=19$m=65536,t=3,p=4$salt$hash``) that carry
their own parameters and salt, so verification needs nothing else and stronger
parameters can be rolled out later (:func:`needs_rehash`, applied at the next sign-in).

Default parameters are RFC 9106's "second recommended option" (argon2id, 64 MiB,
3 passes, 4 lanes) — the ``argon2-cffi`` default. A hasher with other parameters can be
passed to every function (tests use a cheaper one to stay fast on shared machines; the
rules are the same).
"""

from __future__ import annotations

import secrets
import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "default_hasher",
    "dummy_verify",
    "generate_password",
    "hash_password",
    "needs_rehash",
    "password_problems",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 12
"""Shortest accepted password (characters). Long passphrases beat complexity rules."""
MAX_PASSWORD_LENGTH = 1024
"""Longest accepted password: argon2 would take more, but nobody types more."""


@lru_cache(maxsize=1)
def default_hasher() -> PasswordHasher:
    """The argon2id hasher used unless another is given (RFC 9106 low-memory profile)."""
    return PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


def _normalise(password: str) -> str:
    # One password, one hash, however the keyboard composed its accents.
    return unicodedata.normalize("NFC", password)


def password_problems(password: str, *, name: str = "") -> list[str]:
    """Every reason ``password`` is not acceptable, in plain words; ``[]`` when fine.

    Rules: at least :data:`MIN_PASSWORD_LENGTH` characters, at most
    :data:`MAX_PASSWORD_LENGTH`, not only spaces, not the account name. The messages
    never repeat the password.
    """
    problems = []
    text = _normalise(password)
    if len(text) < MIN_PASSWORD_LENGTH:
        problems.append(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(text) > MAX_PASSWORD_LENGTH:
        problems.append(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")
    if text and not text.strip():
        problems.append("a password cannot be only spaces")
    if name and text.strip().lower() == name.strip().lower():
        problems.append("the password cannot be the account name")
    return problems


def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    """The argon2id hash string of ``password`` (with a fresh random salt)."""
    return (hasher or default_hasher()).hash(_normalise(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (constant time in the password).

    An unreadable hash counts as no match (it cannot be a valid sign-in).
    """
    try:
        return PasswordHasher().verify(password_hash, _normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Whether ``password_hash`` was made with other parameters than ``hasher``'s."""
    try:
        return (hasher or default_hasher()).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def dummy_verify(password: str, *, hasher: PasswordHasher | None = None) -> None:
    """Spend the time of one verification, for names that have no account.

    Without it, "no such account" would answer measurably faster than "wrong
    password", telling an attacker which names exist.
    """
    verify_password(_dummy_hash(hasher or default_hasher()), password)


def generate_password(n_words: int = 5) -> str:
    """A random password for demo accounts (≈ 240 bits, URL-safe).

    Not memorable on purpose: demo passwords are printed, used, and thrown away.
    """
    return "-".join(secrets.token_urlsafe(6) for _ in range(n_words))
