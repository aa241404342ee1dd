"""Local accounts on a real GeoPackage store: hashing, rate limits, sessions, audit."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from minemap.auth import (
    AccountError,
    AuthError,
    SignInPolicy,
    add_user,
    demo_accounts,
    disable_user,
    enable_user,
    list_accounts,
    session_user,
    set_password,
    set_role,
    sign_in,
    sign_out,
)
from minemap.store import open_store

PASSWORD = "Kherson-fields-2026!"
OTHER = "not-the-password-at-all"


@pytest.fixture
def olena(store, fast_hasher, clock):
    add_user(store, "Olena.K", role="planner", password=PASSWORD, by="root", hasher=fast_hasher,
             clock=clock)  # fmt: skip
    return "olena.k"


def _sign_in(store, name, password, clock, hasher, **kw):
    return sign_in(store, name, password, clock=clock, hasher=hasher, **kw)


def test_add_list_disable_enable(store, fast_hasher, clock):
    account = add_user(store, "  Olena.K ", role="planner", password=PASSWORD, by="root",
                       hasher=fast_hasher, clock=clock)  # fmt: skip
    assert account.name == "olena.k"
    add_user(store, "taras@fsd.example", role="field", password=OTHER, hasher=fast_hasher)
    assert [(a.name, a.role, a.disabled) for a in list_accounts(store)] == [
        ("olena.k", "planner", False),
        ("taras@fsd.example", "field", False),
    ]
    assert disable_user(store, "OLENA.K", by="root", clock=clock).disabled
    with pytest.raises(AccountError, match="disabled already"):
        disable_user(store, "olena.k")
    assert not enable_user(store, "olena.k", by="root").disabled
    with pytest.raises(AccountError, match="no account 'nobody'"):
        disable_user(store, "nobody")
    actions = list(store.audit_log()["action"])
    assert actions.count("user_added") == 2
    assert actions.count("user_changed") == 2


def test_the_last_admin_cannot_be_disabled_or_demoted_and_nobody_disables_themselves(
    store, fast_hasher, clock
):
    add_user(store, "anna", role="admin", password=PASSWORD, hasher=fast_hasher)
    add_user(store, "olena.k", role="planner", password=OTHER, hasher=fast_hasher)
    with pytest.raises(AccountError, match="only enabled account that can manage accounts"):
        disable_user(store, "anna", by="cli:root", clock=clock)
    with pytest.raises(AccountError, match="only enabled account that can manage accounts"):
        set_role(store, "anna", "planner", by="cli:root", clock=clock)
    anna = next(a for a in list_accounts(store) if a.name == "anna")
    assert (anna.role, anna.disabled) == ("admin", False)
    # a second admin makes both changes possible, but never on one's own account
    add_user(store, "bohdan", role="admin", password=PASSWORD, hasher=fast_hasher)
    with pytest.raises(AccountError, match="cannot disable your own account"):
        disable_user(store, "anna", by="Anna", clock=clock)
    assert disable_user(store, "anna", by="bohdan", clock=clock).disabled
    # bohdan is now the only enabled admin: disabled admins do not count
    with pytest.raises(AccountError, match="'bohdan'"):
        set_role(store, "bohdan", "funder", by="cli:root", clock=clock)
    enable_user(store, "anna", by="bohdan", clock=clock)
    assert set_role(store, "bohdan", "funder", by="anna", clock=clock).role == "funder"
    # non-admin accounts are unaffected by the rule
    assert disable_user(store, "olena.k", by="anna", clock=clock).disabled


def test_bad_accounts_are_refused_with_every_problem_at_once(store, fast_hasher):
    with pytest.raises(AccountError) as info:
        add_user(store, "bad name!", role="owner", password="short", hasher=fast_hasher)
    message = str(info.value)
    assert "account name" in message
    assert "'owner' is not a role" in message
    assert "at least 12 characters" in message
    with pytest.raises(AccountError, match="cannot be the account name"):
        add_user(store, "longaccountname", role="field", password="LongAccountName",
                 hasher=fast_hasher)  # fmt: skip
    assert list_accounts(store) == []


def test_names_are_unique(store, olena, fast_hasher):
    with pytest.raises(AccountError, match="exists already"):
        add_user(store, "OLENA.K", role="field", password=OTHER, hasher=fast_hasher)


def test_sign_in_and_session(store, olena, clock, fast_hasher):
    session = _sign_in(store, "Olena.K", PASSWORD, clock, fast_hasher)
    assert (session.name, session.role) == ("olena.k", "planner")
    assert session.expires_at - session.created_at == timedelta(hours=12)
    assert session.token not in repr(session)
    assert len(session.token) >= 40
    account = session_user(store, session.token, clock=clock)
    assert (account.name, account.role) == ("olena.k", "planner")
    assert session_user(store, session.token + "x", clock=clock) is None
    assert session_user(store, None, clock=clock) is None
    assert sign_out(store, session.token)
    assert session_user(store, session.token, clock=clock) is None
    assert not sign_out(store, session.token)
    actions = list(store.audit_log()["action"])
    assert actions[-2:] == ["sign_in", "sign_out"]


def test_wrong_password_and_unknown_name_get_the_same_answer(store, olena, clock, fast_hasher):
    with pytest.raises(AuthError) as wrong:
        _sign_in(store, "olena.k", OTHER, clock, fast_hasher)
    with pytest.raises(AuthError) as unknown:
        _sign_in(store, "nobody", OTHER, clock, fast_hasher)
    assert str(wrong.value) == str(unknown.value) == "wrong account name or password"


def test_odd_input_is_just_a_wrong_sign_in(store, olena, clock, fast_hasher):
    for name, password in [(None, PASSWORD), ("olena.k", None), ("olena.k", "x" * 100_000),
                           ("", ""), ("ölena.k\x00", PASSWORD)]:  # fmt: skip
        with pytest.raises(AuthError, match=r"^wrong account name or password$"):
            _sign_in(store, name, password, clock, fast_hasher)


def test_sixth_attempt_is_refused_even_with_the_right_password(store, olena, clock, fast_hasher):
    for i in range(5):
        clock.advance(seconds=1)
        with pytest.raises(AuthError, match="wrong account name or password") as info:
            _sign_in(store, "olena.k", f"{OTHER}-{i}", clock, fast_hasher)
    assert "locked for 1 minute" in str(info.value)
    clock.advance(seconds=30)
    with pytest.raises(AuthError, match=r"too many failed sign-ins.*try again in 1 minute"):
        _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher)
    clock.advance(seconds=31)  # the 60 s lock has passed
    session = _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher)
    assert session.name == "olena.k"
    # success resets the count: one new failure does not lock
    with pytest.raises(AuthError) as again:
        _sign_in(store, "olena.k", OTHER, clock, fast_hasher)
    assert "locked" not in str(again.value)
    log = store.audit_log()
    assert list(log["action"]).count("sign_in_failed") == 6
    assert list(log["action"]).count("sign_in_locked") == 1
    refused = log[log["action"] == "sign_in_refused"]
    assert [d["reason"] for d in refused["detail"]] == ["locked"]


def test_the_lock_grows_with_every_further_failure(store, olena, clock, fast_hasher):
    for _ in range(5):
        with pytest.raises(AuthError):
            _sign_in(store, "olena.k", OTHER, clock, fast_hasher)
    clock.advance(seconds=61)
    with pytest.raises(AuthError, match="locked for 2 minutes"):  # 6th failure: 2 min
        _sign_in(store, "olena.k", OTHER, clock, fast_hasher)
    clock.advance(seconds=119)
    with pytest.raises(AuthError, match="too many failed"):
        _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher)
    clock.advance(seconds=2)
    assert _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher).name == "olena.k"


def test_the_lock_survives_a_restart(tmp_path, fast_hasher, clock):
    path = tmp_path / "s.gpkg"
    with open_store(path) as store:
        add_user(store, "olena", role="field", password=PASSWORD, hasher=fast_hasher)
        for _ in range(5):
            with pytest.raises(AuthError):
                _sign_in(store, "olena", OTHER, clock, fast_hasher)
    with open_store(path) as store, pytest.raises(AuthError, match="too many failed"):
        _sign_in(store, "olena", PASSWORD, clock, fast_hasher)


def test_unknown_names_are_locked_like_real_ones(store, clock, fast_hasher):
    for _ in range(5):
        with pytest.raises(AuthError):
            _sign_in(store, "ghost", OTHER, clock, fast_hasher)
    with pytest.raises(AuthError, match="too many failed sign-ins for this account name"):
        _sign_in(store, "ghost", OTHER, clock, fast_hasher)
    log = store.audit_log()
    failed = log[log["action"] == "sign_in_failed"]
    assert {d["reason"] for d in failed["detail"]} == {"unknown_name"}
    assert "ghost" not in log.to_json(date_format="iso")  # typed names without account: only a hash


def test_server_wide_limit_pauses_sign_in(store, olena, clock, fast_hasher):
    policy = SignInPolicy(global_max_failures=4, global_window_s=60)
    for i in range(4):
        with pytest.raises(AuthError, match="wrong account"):
            _sign_in(store, f"sprayed{i}", OTHER, clock, fast_hasher, policy=policy)
    with pytest.raises(AuthError, match="paused"):
        _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher, policy=policy)
    clock.advance(seconds=61)
    assert _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher, policy=policy)


def test_sessions_expire_when_idle_and_absolutely(store, olena, clock, fast_hasher):
    policy = SignInPolicy(session_idle_s=600, session_absolute_s=3600, touch_interval_s=0)
    idle = _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher, policy=policy)
    clock.advance(seconds=599)
    assert session_user(store, idle.token, policy=policy, clock=clock) is not None
    clock.advance(seconds=599)  # used 599 s ago: still alive
    assert session_user(store, idle.token, policy=policy, clock=clock) is not None
    clock.advance(seconds=600)
    assert session_user(store, idle.token, policy=policy, clock=clock) is None
    active = _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher, policy=policy)
    for _ in range(6):  # kept busy, but the absolute limit still ends it
        clock.advance(seconds=590)
        alive = session_user(store, active.token, policy=policy, clock=clock)
    assert alive is not None
    clock.advance(seconds=60)  # 3600 s after sign-in
    assert session_user(store, active.token, policy=policy, clock=clock) is None
    ended = store.audit_log().query("action == 'session_ended'")
    assert [d["reason"] for d in ended["detail"]] == ["idle", "absolute"]


def test_disabled_accounts_cannot_sign_in_and_lose_their_sessions(store, olena, clock,
                                                                 fast_hasher):  # fmt: skip
    session = _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher)
    disable_user(store, "olena.k", by="admin", clock=clock)
    assert session_user(store, session.token, clock=clock) is None
    with pytest.raises(AuthError, match="disabled; ask an admin"):
        _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher)
    # a wrong password does not learn that the account is disabled
    with pytest.raises(AuthError, match="wrong account name or password"):
        _sign_in(store, "olena.k", OTHER, clock, fast_hasher)
    changed = store.audit_log().query("action == 'user_changed'")["detail"].iloc[-1]
    assert changed == {"name": "olena.k", "changed": ["disabled"], "disabled": True,
                       "sessions_ended": 1}  # fmt: skip


def test_stronger_parameters_rehash_at_next_sign_in(store, olena, clock, fast_hasher):
    from argon2 import PasswordHasher

    stronger = PasswordHasher(time_cost=2, memory_cost=16 * 1024, parallelism=1)
    before = store.get_user("olena.k").password_hash
    _sign_in(store, "olena.k", PASSWORD, clock, stronger)
    after = store.get_user("olena.k").password_hash
    assert before.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert after.startswith("$argon2id$v=19$m=16384,t=2,p=1$")
    assert _sign_in(store, "olena.k", PASSWORD, clock, stronger)


def _store_bytes(path) -> bytes:
    data = path.read_bytes()
    for suffix in ("-wal", "-shm", "-journal"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            data += extra.read_bytes()
    return data


def test_passwords_and_tokens_never_reach_the_store_or_the_log(tmp_path, clock, fast_hasher):
    path = tmp_path / "s.gpkg"
    errors = []
    with open_store(path) as store:
        add_user(store, "olena", role="planner", password=PASSWORD, hasher=fast_hasher)
        session = _sign_in(store, "olena", PASSWORD, clock, fast_hasher)
        for attempt in (OTHER, PASSWORD.upper(), PASSWORD):
            try:
                _sign_in(store, "olena", attempt, clock, fast_hasher)
            except AuthError as exc:
                errors.append(str(exc))
        try:  # a password typed into the name field
            _sign_in(store, PASSWORD, PASSWORD, clock, fast_hasher)
        except AuthError as exc:
            errors.append(str(exc))
        try:
            add_user(store, "olena", role="field", password=PASSWORD, hasher=fast_hasher)
        except AccountError as exc:
            errors.append(str(exc))
        log_text = store.audit_log().to_json(date_format="iso")
        data = _store_bytes(path)
    data += path.read_bytes()  # after close: WAL checkpointed into the file
    assert len(errors) == 4
    for secret in (PASSWORD, PASSWORD.upper(), OTHER, session.token):
        assert secret.encode() not in data
        assert secret not in log_text
        assert all(secret not in e for e in errors)
    # what is stored: the argon2id hash and the token's SHA-256
    con = sqlite3.connect(path)
    (stored,) = con.execute("SELECT password_hash FROM minemap_users").fetchone()
    tokens = [t for (t,) in con.execute("SELECT token_hash FROM minemap_sessions")]
    con.close()
    assert stored.startswith("$argon2id$")
    assert all(len(t) == 64 for t in tokens)


def test_demo_accounts_one_per_role_with_fresh_passwords(store, fast_hasher, clock):
    created = demo_accounts(store, hasher=fast_hasher, clock=clock)
    assert [(n, r) for n, r, _ in created] == [
        ("demo-planner", "planner"), ("demo-field", "field"),
        ("demo-funder", "funder"), ("demo-admin", "admin"),
    ]  # fmt: skip
    passwords = [p for _, _, p in created]
    assert len(set(passwords)) == 4
    assert all(len(p) >= 20 for p in passwords)
    for name, role, password in created:
        assert _sign_in(store, name, password, clock, fast_hasher).role == role
    assert password not in store.audit_log().to_json(date_format="iso")
    with pytest.raises(AccountError, match="exists already"):
        demo_accounts(store, hasher=fast_hasher)


def test_user_rows_cannot_be_deleted(store, olena):
    con = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        con.execute("DELETE FROM minemap_users")
    con.close()


def test_sign_in_bookkeeping_does_not_invalidate_data_caches(store, olena, clock, fast_hasher):
    session = _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher)
    version = store.data_version()
    for _ in range(3):
        clock.advance(seconds=120)
        assert session_user(store, session.token, clock=clock) is not None
    assert store.data_version() == version


def test_new_password_ends_sessions_and_replaces_the_old(store, olena, clock, fast_hasher):
    session = _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher)
    with pytest.raises(AccountError, match="at least 12"):
        set_password(store, "olena.k", "short", hasher=fast_hasher)
    set_password(store, "Olena.K", OTHER, by="admin", hasher=fast_hasher, clock=clock)
    assert session_user(store, session.token, clock=clock) is None
    with pytest.raises(AuthError, match="wrong account name or password"):
        _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher)
    assert _sign_in(store, "olena.k", OTHER, clock, fast_hasher).name == "olena.k"
    change = store.audit_log().query("action == 'user_changed'")["detail"].iloc[-1]
    assert change == {"name": "olena.k", "changed": ["password"]}


def test_role_change_applies_to_open_sessions(store, olena, clock, fast_hasher):
    session = _sign_in(store, "olena.k", PASSWORD, clock, fast_hasher)
    assert set_role(store, "olena.k", "funder", by="admin").role == "funder"
    assert session_user(store, session.token, clock=clock).role == "funder"
    with pytest.raises(AccountError, match="'boss' is not a role"):
        set_role(store, "olena.k", "boss")
    with pytest.raises(AccountError, match="has the funder role already"):
        set_role(store, "olena.k", "funder")
    change = store.audit_log().query("action == 'user_changed'")["detail"].iloc[-1]
    assert change == {"name": "olena.k", "changed": ["role"], "role": "funder"}
