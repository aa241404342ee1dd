"""Local accounts in the store: add, list, disable, sign in, sessions, sign out.

Rules (all in this module; the store only keeps records, see ``minemap.store.Store``):

- **Names** are normalised (NFKC, trimmed, lower case) and may use letters, digits and
  ``. _ @ + -`` (so e-mail addresses work), 1–64 characters.
- **Passwords** are hashed with argon2id (:mod:`minemap.auth.passwords`); neither the
  password nor anything derived from it other than that hash is stored or logged.
- **Rate limiting**, persisted in the store so restarts don't reset it: after
  ``max_failures`` failed attempts for one name (since its last success, within
  ``failure_window_s``) the name is locked for ``lock_base_s``, doubling with every
  further failure up to ``lock_max_s``; while locked, even the right password is
  refused. Unknown names are limited exactly like real ones, so the answers don't tell
  which names exist. Over the whole server, ``global_max_failures`` failures within
  ``global_window_s`` pause every password sign-in until the window has passed
  (slows password spraying across many names).
- **Sessions**: a random 256-bit token returned to the caller once; the store keeps its
  SHA-256 only. A session ends after ``session_idle_s`` without use, after
  ``session_absolute_s`` in any case, at sign-out, or when the account is disabled.
- **Audit**: every sign-in, failure, refusal, lock, sign-out, expiry and account change
  is written to the store's append-only audit log. Details hold the account name and
  role, never the password or the token; a name that has no account is logged only as
  a short hash (people sometimes type their password into the name field).

Every function takes ``clock=`` (a callable returning an aware UTC ``datetime``) so the
rules can be tested without waiting.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from minemap._errors import AccountError, AuthError
from minemap.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    dummy_verify,
    generate_password,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from minemap.auth.roles import POLICIES, ROLES
from minemap.store._base import SessionRecord, Store, UserRecord

__all__ = [
    "DEFAULT_POLICY",
    "Account",
    "Clock",
    "Session",
    "SignInPolicy",
    "add_user",
    "demo_accounts",
    "disable_user",
    "enable_user",
    "list_accounts",
    "normalise_name",
    "session_user",
    "set_password",
    "set_role",
    "sign_in",
    "sign_out",
    "utc_now",
]

Clock = Callable[[], datetime]
_NAME = re.compile(r"[a-z0-9][a-z0-9._@+\-]{0,63}")
_WRONG = "wrong account name or password"


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the default clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    """Rate limits and session lifetimes (seconds). The defaults are the shipped policy."""

    max_failures: int = 5
    lock_base_s: float = 60.0
    lock_max_s: float = 3600.0
    failure_window_s: float = 24 * 3600.0
    global_max_failures: int = 100
    global_window_s: float = 600.0
    session_idle_s: float = 30 * 60.0
    session_absolute_s: float = 12 * 3600.0
    touch_interval_s: float = 60.0
    """A session's last use is written at most this often (not on every page view)."""

    def lock_seconds(self, failures: int) -> float:
        """How long a name is locked after ``failures`` consecutive failures (0: not)."""
        if failures < self.max_failures:
            return 0.0
        return min(self.lock_base_s * 2.0 ** (failures - self.max_failures), self.lock_max_s)


DEFAULT_POLICY = SignInPolicy()


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the app sees it (no password hash).

    Attributes
    ----------
    name : str
    role : str
    disabled : bool
    created_at : datetime
    created_by : str or None
    """

    name: str
    role: str
    disabled: bool
    created_at: datetime
    created_by: str | None = None

    @classmethod
    def from_record(cls, record: UserRecord) -> Account:
        """The public view of a stored :class:`~minemap.store.UserRecord`."""
        return cls(record.name, record.role, record.disabled, record.created_at, record.created_by)


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session, as returned once by :func:`sign_in`.

    Attributes
    ----------
    token : str
        The secret session token: keep it server-side (e.g. Streamlit's
        ``st.session_state``); it is not stored anywhere but here. Hidden from ``repr``.
    name, role : str
        Who signed in, with which role at that moment.
    created_at, expires_at : datetime
        UTC; ``expires_at`` is the absolute end (idle expiry comes sooner if unused).
    """

    token: str = field(repr=False)
    name: str
    role: str
    created_at: datetime
    expires_at: datetime


def normalise_name(name: str) -> str:
    """The canonical form of an account name (NFKC, trimmed, lower case).

    Raises
    ------
    AccountError
        The name is empty, too long or has characters other than letters, digits and
        ``. _ @ + -``.
    """
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    if not _NAME.fullmatch(text):
        raise AccountError(
            "an account name has 1-64 characters: letters a-z, digits and . _ @ + - "
            "(starting with a letter or digit)"
        )
    return text


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _attempt_key(name: str) -> str:
    """The key rate-limit rows are filed under: a hash, so a password typed into the
    name field never lands in the store."""
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return hashlib.sha256(f"minemap-sign-in:{text}".encode()).hexdigest()


def _check_role(role: str) -> list[str]:
    if role not in ROLES:
        return [f"{role!r} is not a role; choose one of: {', '.join(ROLES)}"]
    return []


# -- account management (admins, `minemap users`) ------------------------------------
def add_user(
    store: Store,
    name: str,
    *,
    role: str,
    password: str,
    by: str | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock = utc_now,
) -> Account:
    """Add a local account (audited as ``user_added``).

    Parameters
    ----------
    store : minemap.store.Store
        An open store.
    name : str
        Account name (normalised by :func:`normalise_name`).
    role : str
        One of :data:`minemap.auth.roles.ROLES`.
    password : str
        The new password (checked by :func:`minemap.auth.passwords.password_problems`).
    by : str, optional
        Who adds it (audit).
    hasher : argon2.PasswordHasher, optional
        Hashing parameters (default: :func:`minemap.auth.passwords.default_hasher`).
    clock : callable, optional
        Returns the current UTC time.

    Returns
    -------
    Account

    Raises
    ------
    AccountError
        Every problem with the name, role and password at once; or the name is taken.
    """
    problems: list[str] = []
    try:
        key = normalise_name(name)
    except AccountError as exc:
        problems.append(str(exc))
        key = ""
    problems += _check_role(role)
    problems += password_problems(password, name=key)
    if problems:
        raise AccountError("cannot add the account: " + "; ".join(problems))
    if store.get_user(key) is not None:
        raise AccountError(f"an account {key!r} exists already")
    now = clock()
    record = UserRecord(
        name=key,
        role=role,
        password_hash=hash_password(password, hasher=hasher),
        disabled=False,
        created_at=now,
        changed_at=now,
        created_by=by,
    )
    store.add_user(record, by=by)
    return Account.from_record(record)


def list_accounts(store: Store) -> list[Account]:
    """Every account (enabled and disabled), sorted by name."""
    return [Account.from_record(r) for r in store.list_users()]


def _existing(store: Store, name: str) -> UserRecord:
    key = normalise_name(name)
    record = store.get_user(key)
    if record is None:
        raise AccountError(f"no account {key!r}; `minemap users list` shows the accounts")
    return record


def _manages_users(role: str) -> bool:
    policy = POLICIES.get(role)
    return policy is not None and "manage_users" in policy.actions


def _keep_a_manager(store: Store, record: UserRecord, change: str) -> None:
    """Refuse a change that would leave no enabled account able to manage accounts."""
    if record.disabled or not _manages_users(record.role):
        return
    others = [
        r
        for r in store.list_users()
        if r.name != record.name and not r.disabled and _manages_users(r.role)
    ]
    if not others:
        raise AccountError(
            f"cannot {change} {record.name!r}: it is the only enabled account that can manage "
            "accounts, so nobody could sign in to undo it; add or enable another admin first"
        )


def disable_user(
    store: Store, name: str, *, by: str | None = None, clock: Clock = utc_now
) -> Account:
    """Disable an account: it cannot sign in, and its sessions end now (audited).

    An account cannot disable itself (``by`` is its own name: in the app that would end
    the admin's own session mid-task), and the last enabled admin cannot be disabled.

    Raises
    ------
    AccountError
        No such account, it is disabled already, it is ``by`` itself, or it is the last
        enabled account that can manage accounts.
    """
    record = _existing(store, name)
    if record.disabled:
        raise AccountError(f"the account {record.name!r} is disabled already")
    if by is not None and by.strip().lower() == record.name:
        raise AccountError(
            f"you cannot disable your own account {record.name!r}; ask another admin"
        )
    _keep_a_manager(store, record, "disable")
    return Account.from_record(store.update_user(record.name, at=clock(), by=by, disabled=True))


def enable_user(
    store: Store, name: str, *, by: str | None = None, clock: Clock = utc_now
) -> Account:
    """Enable a disabled account again (audited).

    Raises
    ------
    AccountError
        No such account, or it is enabled already.
    """
    record = _existing(store, name)
    if not record.disabled:
        raise AccountError(f"the account {record.name!r} is enabled already")
    return Account.from_record(store.update_user(record.name, at=clock(), by=by, disabled=False))


def set_password(
    store: Store,
    name: str,
    password: str,
    *,
    by: str | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock = utc_now,
) -> Account:
    """Give an account a new password (audited; the account's open sessions end).

    Raises
    ------
    AccountError
        No such account, or the password breaks the policy (every problem listed).
    """
    record = _existing(store, name)
    problems = password_problems(password, name=record.name)
    if problems:
        raise AccountError("cannot change the password: " + "; ".join(problems))
    updated = store.update_user(
        record.name, at=clock(), by=by, password_hash=hash_password(password, hasher=hasher)
    )
    store.delete_sessions(name=record.name)  # whoever had the old password is signed out
    return Account.from_record(updated)


def set_role(
    store: Store, name: str, role: str, *, by: str | None = None, clock: Clock = utc_now
) -> Account:
    """Change an account's role (audited); open sessions get the new role at once.

    Raises
    ------
    AccountError
        No such account, ``role`` is not a role, or the change would take the right to
        manage accounts from the last enabled account that has it.
    """
    problems = _check_role(role)
    if problems:
        raise AccountError("cannot change the role: " + "; ".join(problems))
    record = _existing(store, name)
    if record.role == role:
        raise AccountError(f"the account {record.name!r} has the {role} role already")
    if not _manages_users(role):
        _keep_a_manager(store, record, f"make {role}")
    return Account.from_record(store.update_user(record.name, at=clock(), by=by, role=role))


def demo_accounts(
    store: Store, *, hasher: PasswordHasher | None = None, clock: Clock = utc_now
) -> list[tuple[str, str, str]]:
    """Create one demo account per role with a fresh random password.

    For ``minemap demo`` only, which prints them at start-up; ``minemap serve`` never
    creates credentials. The passwords are returned, never stored or logged.

    Returns
    -------
    list of (name, role, password)
        ``demo-planner``, ``demo-field``, ``demo-funder``, ``demo-admin``.

    Raises
    ------
    AccountError
        A demo account exists already (the demo wants a fresh store).
    """
    out = []
    for role in ROLES:
        password = generate_password()
        account = add_user(
            store,
            f"demo-{role}",
            role=role,
            password=password,
            by="minemap demo",
            hasher=hasher,
            clock=clock,
        )
        out.append((account.name, role, password))
    return out


# -- sign-in ---------------------------------------------------------------------------
def _consecutive_failures(attempts) -> list[datetime]:
    failures: list[datetime] = []
    for attempt in attempts:
        if attempt.outcome == "ok":
            failures = []
        elif attempt.outcome == "bad":
            failures.append(attempt.at)
    return failures


def _wait_words(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def sign_in(
    store: Store,
    name: str,
    password: str,
    *,
    policy: SignInPolicy = DEFAULT_POLICY,
    hasher: PasswordHasher | None = None,
    clock: Clock = utc_now,
) -> Session:
    """Check a name and password and open a session.

    Parameters
    ----------
    store : minemap.store.Store
        An open store.
    name, password : str
        As typed.
    policy : SignInPolicy, optional
        Rate limits and session lifetimes.
    hasher : argon2.PasswordHasher, optional
        Current hashing parameters; a stored hash made with others is replaced after a
        successful sign-in.
    clock : callable, optional
        Returns the current UTC time.

    Returns
    -------
    Session
        Keep :attr:`Session.token` server-side; :func:`session_user` resolves it.

    Raises
    ------
    AuthError
        Wrong name or password (one message for both), the name is locked after too
        many failures (even with the right password), sign-in is paused server-wide,
        or the account is disabled (said only after the right password). The message
        never contains the password.
    """
    now = clock()
    name = name if isinstance(name, str) else ""
    password = password if isinstance(password, str) else ""
    key = _attempt_key(name)
    try:
        account_name: str | None = normalise_name(name)
    except AccountError:
        account_name = None
    audit_name = account_name

    recent = store.login_attempts(since=now - timedelta(seconds=policy.global_window_s))
    if sum(a.outcome == "bad" for a in recent) >= policy.global_max_failures:
        store.record_login_attempt(key, at=now, outcome="refused")
        store.record_audit("sign_in_refused", user=None, detail={"reason": "server_rate_limit"})
        raise AuthError(
            "sign-in is paused for a few minutes: too many failed attempts on this server; "
            "try again later"
        )

    history = store.login_attempts(since=now - timedelta(seconds=policy.failure_window_s), name=key)
    failures = _consecutive_failures(history)
    lock_s = policy.lock_seconds(len(failures))
    if lock_s and now < failures[-1] + timedelta(seconds=lock_s):
        until = failures[-1] + timedelta(seconds=lock_s)
        record = store.get_user(account_name) if account_name else None
        store.record_login_attempt(key, at=now, outcome="refused")
        store.record_audit(
            "sign_in_refused",
            user=record.name if record else None,
            detail=_who(record, key) | {"reason": "locked", "until": until.isoformat()},
        )
        raise AuthError(
            "too many failed sign-ins for this account name; "
            f"try again in {_wait_words((until - now).total_seconds())}"
        )

    record = store.get_user(account_name) if account_name else None
    if record is None or len(password) > MAX_PASSWORD_LENGTH:
        # same time as a real check; no account can have an over-long password
        dummy_verify(password[:MAX_PASSWORD_LENGTH], hasher=hasher)
        ok = False
    else:
        ok = verify_password(record.password_hash, password)
        audit_name = record.name

    if not ok:
        store.record_login_attempt(key, at=now, outcome="bad")
        n = len(failures) + 1
        reason = "wrong_password" if record is not None else "unknown_name"
        store.record_audit(
            "sign_in_failed",
            user=audit_name if record else None,
            detail=_who(record, key) | {"reason": reason, "failures": n},
        )
        message = _WRONG
        new_lock = policy.lock_seconds(n)
        if new_lock:
            store.record_audit(
                "sign_in_locked",
                user=audit_name if record else None,
                detail=_who(record, key)
                | {"failures": n, "until": (now + timedelta(seconds=new_lock)).isoformat()},
            )
            message += (
                f"; too many failed sign-ins: this name is locked for {_wait_words(new_lock)}"
            )
        raise AuthError(message)

    assert record is not None
    if record.disabled:
        store.record_login_attempt(key, at=now, outcome="refused")
        store.record_audit(
            "sign_in_refused", user=record.name, detail={"name": record.name, "reason": "disabled"}
        )
        raise AuthError("this account is disabled; ask an admin")

    store.record_login_attempt(key, at=now, outcome="ok")
    if needs_rehash(record.password_hash, hasher=hasher):
        store.update_user(
            record.name,
            at=now,
            by="minemap (stronger hash)",
            password_hash=hash_password(password, hasher=hasher),
        )
    store.delete_sessions(expired_before=now)
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=policy.session_absolute_s)
    store.add_session(
        SessionRecord(
            token_hash=_token_hash(token),
            name=record.name,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
        )
    )
    store.record_audit(
        "sign_in",
        user=record.name,
        detail={"name": record.name, "role": record.role, "method": "password"},
    )
    return Session(token, record.name, record.role, now, expires)


def _who(record: UserRecord | None, key: str) -> dict[str, str]:
    if record is not None:
        return {"name": record.name}
    return {"unknown_name": key[:12]}


def session_user(
    store: Store,
    token: str | None,
    *,
    policy: SignInPolicy = DEFAULT_POLICY,
    clock: Clock = utc_now,
) -> Account | None:
    """The account a session token belongs to, or None if the session is over.

    A session is over after ``policy.session_idle_s`` without use, after
    ``policy.session_absolute_s`` in any case, after :func:`sign_out`, or when the
    account was disabled. Each call counts as use. The role returned is the account's
    role now (a changed role applies at once).
    """
    if not token or not isinstance(token, str):
        return None
    digest = _token_hash(token)
    record = store.get_session(digest)
    if record is None:
        return None
    now = clock()
    idle_end = record.last_seen_at + timedelta(seconds=policy.session_idle_s)
    reason = None
    if now >= record.expires_at:
        reason = "absolute"
    elif now >= idle_end:
        reason = "idle"
    user = store.get_user(record.name)
    if reason is None and (user is None or user.disabled):
        reason = "disabled"
    if reason is not None:
        if store.delete_sessions(token_hash=digest):
            store.record_audit(
                "session_ended", user=record.name, detail={"name": record.name, "reason": reason}
            )
        return None
    if (now - record.last_seen_at).total_seconds() >= policy.touch_interval_s:
        store.touch_session(digest, at=now)
    assert user is not None
    return Account.from_record(user)


def sign_out(store: Store, token: str | None) -> bool:
    """End a session (audited as ``sign_out``); True if there was one."""
    if not token or not isinstance(token, str):
        return False
    digest = _token_hash(token)
    record = store.get_session(digest)
    if record is None:
        return False
    store.delete_sessions(token_hash=digest)
    store.record_audit("sign_out", user=record.name, detail={"name": record.name})
    return True
