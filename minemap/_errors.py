"""The small error hierarchy of minemap.

Every error subclasses :class:`MinemapError` *and* the builtin it refines, so callers
can catch broadly (``except MinemapError``) or narrowly (``except ValueError``).
Messages are written for the person who has to fix the input: they name the file,
the feature and the problem — and never contain victims' personal data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minemap._report import Problem

__all__ = [
    "AccessDenied",
    "AccountError",
    "AuthError",
    "CRSError",
    "ConfigError",
    "MinemapError",
    "StoreError",
    "UnsafeInputError",
    "UnsupportedFormatError",
    "UploadError",
    "ValidationError",
]


class MinemapError(Exception):
    """Base class of every error minemap raises on purpose."""


class UploadError(MinemapError, ValueError):
    """An uploaded file cannot be read (wrong format, damaged, over a limit)."""


class UnsupportedFormatError(UploadError):
    """The file's content is not one of the accepted survey formats."""


class UnsafeInputError(UploadError):
    """The file tries something an upload must never do (path traversal, entity
    expansion, links to other files or URLs, archive bombs, ...)."""


class CRSError(MinemapError, ValueError):
    """Coordinates in a reference system that is missing, unknown or mismatched."""


class ValidationError(MinemapError, ValueError):
    """One or more features break the layer's rules.

    Raised once with *every* problem found (``problems``), never one at a time.
    """

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])


class StoreError(MinemapError, RuntimeError):
    """The store cannot be opened, is damaged, or refused an operation."""


class ConfigError(MinemapError, ValueError):
    """A settings or weights file is invalid."""


class AuthError(MinemapError, PermissionError):
    """Sign-in refused: wrong name or password, account locked or disabled, session over.

    The message says what the person can do next; it never contains the password or
    the session token, and never says whether an account name exists.
    """


class AccountError(MinemapError, ValueError):
    """An account cannot be added or changed (bad name, role or password, or no such
    account); every problem is listed at once."""


class AccessDenied(MinemapError, PermissionError):  # noqa: N818 - the name the app catches
    """The role may not do this or read this (see :mod:`minemap.auth.roles`)."""
