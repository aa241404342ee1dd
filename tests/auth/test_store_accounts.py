"""The store's account record-keeping (the contract every backend implements).

Runs against both backends: the GeoPackage store and the PostGIS store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from minemap.store import LoginAttempt, SessionRecord, StoreError, UserRecord, open_store
from tests.store.pg import BACKENDS

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
HASH = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A fresh, empty store of each backend (overrides the GeoPackage-only one)."""
    where = (
        tmp_path / "accounts.gpkg" if request.param == "gpkg" else request.getfixturevalue("pg_url")
    )
    with open_store(where) as opened:
        yield opened


def _user(name="olena", role="planner"):
    return UserRecord(name, role, HASH, False, T0, T0, "root")


def test_users_are_added_once_and_audited_without_the_hash(store):
    version, audited = store.data_version(), store.audit_version()
    store.add_user(_user(), by="root")
    # accounts are not layer data: the app's data caches must survive them
    assert store.data_version() == version
    assert store.audit_version() == audited + 1
    with pytest.raises(StoreError, match="exists already"):
        store.add_user(_user(role="field"), by="root")
    assert store.get_user("olena") == _user()
    assert store.get_user("nobody") is None
    assert HASH not in repr(store.get_user("olena"))
    entry = store.audit_log().iloc[-1]
    assert (entry["user"], entry["action"], entry["detail"]) == (
        "root", "user_added", {"name": "olena", "role": "planner"},
    )  # fmt: skip
    assert HASH not in store.audit_log().to_json(date_format="iso")
    assert store.integrity_check() == []


def test_update_user_changes_only_what_is_given(store):
    store.add_user(_user(), by="root")
    store.add_user(_user("taras", "field"), by="root")
    later = T0 + timedelta(days=1)
    changed = store.update_user("olena", at=later, by="root", role="funder")
    assert (changed.role, changed.password_hash, changed.disabled) == ("funder", HASH, False)
    assert changed.changed_at == later
    assert changed.created_at == T0
    assert store.get_user("taras") == _user("taras", "field")
    with pytest.raises(StoreError, match="no account 'ghost'"):
        store.update_user("ghost", at=later, disabled=True)
    assert [u.name for u in store.list_users()] == ["olena", "taras"]


def test_account_changes_advance_the_audit_not_the_data_version(store):
    store.add_user(_user(), by="root")
    version, audited = store.data_version(), store.audit_version()
    store.update_user("olena", at=T0, by="root", role="funder")
    store.update_user("olena", at=T0, by="root", password_hash=HASH + "x")
    store.update_user("olena", at=T0, by="root", disabled=True)
    assert store.data_version() == version
    assert store.audit_version() == audited + 3
    assert store.audit_log()["id"].max() == store.audit_version()


def test_disabling_ends_sessions_in_the_same_change(store):
    store.add_user(_user(), by="root")
    for i in range(3):
        store.add_session(SessionRecord(f"{i:064x}", "olena", T0, T0, T0 + timedelta(hours=1)))
    store.update_user("olena", at=T0, by="root", disabled=True)
    assert all(store.get_session(f"{i:064x}") is None for i in range(3))
    assert store.audit_log().iloc[-1]["detail"]["sessions_ended"] == 3


def test_sessions_and_attempts_do_not_touch_data_version(store):
    store.add_user(_user(), by="root")
    version = store.data_version()
    session = SessionRecord("a" * 64, "olena", T0, T0, T0 + timedelta(hours=1))
    store.add_session(session)
    assert store.get_session("a" * 64) == session
    store.touch_session("a" * 64, at=T0 + timedelta(minutes=5))
    assert store.get_session("a" * 64).last_seen_at == T0 + timedelta(minutes=5)
    store.touch_session("f" * 64, at=T0)  # gone: no-op
    store.record_login_attempt("k1", at=T0, outcome="bad")
    store.record_login_attempt("k2", at=T0 + timedelta(seconds=1), outcome="ok")
    store.record_login_attempt("k1", at=T0 + timedelta(seconds=2), outcome="refused")
    assert store.data_version() == version
    assert store.login_attempts(since=T0 + timedelta(seconds=1)) == [
        LoginAttempt("k2", T0 + timedelta(seconds=1), "ok"),
        LoginAttempt("k1", T0 + timedelta(seconds=2), "refused"),
    ]
    assert [a.outcome for a in store.login_attempts(since=T0, name="k1")] == ["bad", "refused"]
    with pytest.raises(StoreError, match="unknown sign-in outcome"):
        store.record_login_attempt("k1", at=T0, outcome="maybe")


def test_delete_sessions_by_criterion(store):
    store.add_user(_user(), by="root")
    store.add_user(_user("taras", "field"), by="root")
    store.add_session(SessionRecord("1" * 64, "olena", T0, T0, T0 + timedelta(hours=1)))
    store.add_session(SessionRecord("2" * 64, "olena", T0, T0, T0 + timedelta(hours=9)))
    store.add_session(SessionRecord("3" * 64, "taras", T0, T0, T0 + timedelta(hours=9)))
    assert store.delete_sessions() == 0
    assert store.delete_sessions(expired_before=T0 + timedelta(hours=2)) == 1
    assert store.delete_sessions(token_hash="3" * 64) == 1
    assert store.delete_sessions(name="olena") == 1
    assert store.get_session("2" * 64) is None


def test_naive_times_are_refused(store):
    with pytest.raises(StoreError, match="timezone-aware"):
        store.record_login_attempt("k", at=datetime(2026, 1, 1), outcome="bad")


def test_older_stores_get_the_account_tables(tmp_path):
    import sqlite3

    path = tmp_path / "old.gpkg"
    with open_store(path):
        pass
    con = sqlite3.connect(path)
    for table in ("minemap_login_attempts", "minemap_sessions", "minemap_users"):
        con.execute(f"DROP TABLE {table}")  # as a store made before issue 6
    con.commit()
    con.close()
    with open_store(path) as store:
        store.add_user(_user(), by="root")
        assert store.get_user("olena") == _user()
        assert store.integrity_check() == []
