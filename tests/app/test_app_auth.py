"""Who may open what: every role × every page and download, with AppTest (issue 6).

Sessions are signed in through the real accounts API (argon2id hashes in a real
GeoPackage store); only the session token is handed to the app, as the sign-in page
does. The expected matrix below is written from issue 6 and docs/security.md, not
computed from ``minemap.auth``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from minemap_app import i18n
from tests.app.conftest import (
    ACCOUNTS,
    APP,
    PASSWORD,
    seed_accounts,
    seed_store,
    signed_in,
)

VIEWS = APP.parent / "views"
PAGES = {
    "map": "map",
    "priorities": "prio",
    "upload": "upload",
    "reports": "reports",
    "quality": "quality",
    "backtest": "bt",
    "admin": "admin",
}
"""Page script → its i18n prefix (title key ``<prefix>.title``)."""

ALLOWED = {
    "planner": {"map", "priorities", "upload", "reports", "quality", "backtest"},
    "field": {"map", "priorities", "upload", "reports", "quality"},
    "funder": {"map", "reports"},
    "admin": {"map", "reports", "admin"},
}

VICTIM = "Zzyzx Testvictim"
VICTIM_AGE = 97
EXACT_LON, EXACT_LAT = 36.21357, 49.91753
SECRETS = (VICTIM, "Zzyzx", "victim_name", "victim_age", "victim_sex", "36.21357", "49.91753")
"""Nothing a funder session can reach may contain any of these (planted below)."""


def _planted_casualty(folder: Path) -> Path:
    path = folder / "planted.geojson"
    feature = {
        "type": "Feature",
        "properties": {
            "incident_id": "CAS-Z",
            "date": "2024-04-02",
            "killed": 1,
            "injured": 0,
            "civilian": True,
            "munition_type": "AP mine",
            "victim_name": VICTIM,
            "victim_age": VICTIM_AGE,
            "victim_sex": "female",
        },
        "geometry": {"type": "Point", "coordinates": [EXACT_LON, EXACT_LAT]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[Path]:
    """One seeded store for the whole matrix (the app's caches then serve every test)."""
    from minemap.ingest import ingest_file

    folder = tmp_path_factory.mktemp("auth_world")
    store = folder / "store.gpkg"
    assert seed_store(folder, store) == []
    result = ingest_file(_planted_casualty(folder), "casualties", store=store, user="tests")
    assert result.status == "accepted", result.report.errors
    seed_accounts(store)
    before = os.environ.get("MINEMAP_STORE")
    os.environ["MINEMAP_STORE"] = str(store)
    yield store
    if before is None:
        os.environ.pop("MINEMAP_STORE", None)
    else:
        os.environ["MINEMAP_STORE"] = before


def payload(at: AppTest) -> str:
    """Every element the session's page sent (main, sidebar, the map's HTML), as text."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# --- anonymous and failed sign-in -------------------------------------------------------


def test_anonymous_sees_only_the_sign_in_page(world):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    assert titles(at) == [i18n.t("signin.title", "uk")]
    for page in PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"views/{page}.py")
    sent = payload(at)
    assert "HZ-1" not in sent
    assert "REL-1" not in sent


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("e2e-nobody", PASSWORD),  # unknown account
        (ACCOUNTS["planner"], "not the password at all"),  # wrong password
    ],
    ids=["unknown_user", "wrong_password"],
)
def test_failed_sign_in_says_so_and_opens_nothing(world, name, password):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button[0].click().run()
    assert not at.exception
    # The same message for both: it must not reveal which account names exist.
    assert any("wrong account name or password" in e for e in errors(at)), errors(at)
    assert titles(at) == [i18n.t("signin.title", "uk")]
    assert "auth_token" not in at.session_state
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/map.py")


def test_sign_in_through_the_form_keeps_only_the_token_then_sign_out_ends_it(world):
    from minemap.auth import session_user
    from minemap.store import open_store

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.text_input(key="signin_name").input(ACCOUNTS["field"])
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert titles(at) == [i18n.t("map.title", "uk")]
    token = at.session_state["auth_token"]
    assert at.session_state["role"] == "field"
    held = " ".join(repr(at.session_state[k]) for k in at.session_state)
    assert PASSWORD not in held  # the password does not linger in the session
    at.sidebar.button(key="sign_out").click().run()
    assert titles(at) == [i18n.t("signin.title", "uk")]
    with open_store(world) as store:
        assert session_user(store, token) is None


def test_a_disabled_account_is_signed_out_on_its_next_run(world):
    from minemap.auth import add_user, disable_user, enable_user
    from minemap.store import open_store

    with open_store(world) as store:
        if store.get_user("e2e-temp") is None:
            add_user(store, "e2e-temp", role="planner", password=PASSWORD)
    from minemap.auth import sign_in

    with open_store(world) as store:
        token = sign_in(store, "e2e-temp", PASSWORD).token
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["auth_token"] = token
    at.run()
    assert titles(at) == [i18n.t("map.title", "uk")]
    with open_store(world) as store:
        disable_user(store, "e2e-temp", by="tests")
    at.run()
    assert titles(at) == [i18n.t("signin.title", "uk")]
    assert i18n.t("auth.session_over", "uk") in [i.value for i in at.info]
    with open_store(world) as store:
        enable_user(store, "e2e-temp", by="tests")


# --- the page matrix ---------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ALLOWED))
def test_navigation_lists_exactly_the_pages_a_role_may_open(world, role):
    at = signed_in(role)
    for page, prefix in PAGES.items():
        if page in ALLOWED[role]:
            at.switch_page(f"views/{page}.py").run()
            assert not at.exception, (role, page, at.exception)
            assert titles(at)[:1] == [i18n.t(f"{prefix}.title", "uk")], (role, page)
            assert errors(at) == [], (role, page, errors(at))
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"views/{page}.py")


def _refused(role: str | None) -> list[tuple[str | None, str]]:
    allowed = ALLOWED.get(role or "", set())
    return [(role, page) for page in PAGES if page not in allowed]


@pytest.mark.parametrize(
    ("role", "page"),
    [
        *_refused(None),
        *_refused("superuser"),
        *_refused("field"),
        *_refused("funder"),
        *_refused("admin"),
        *_refused("planner"),
    ],
)
def test_every_page_refuses_on_its_own_when_opened_without_the_right(world, role, page):
    """Defence in depth: the page script itself refuses, even if the router were bypassed."""
    at = AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=60)
    at.session_state["role"] = role
    at.session_state["user"] = "someone"
    at.run()
    assert not at.exception, at.exception
    refusal = i18n.t("auth.denied", "uk", problem="")
    assert [e for e in errors(at) if e.startswith(refusal)], errors(at)
    assert titles(at) == []  # refused before anything of the page was drawn
    if role is None:
        assert "sign in first" in errors(at)[0]
    elif role == "superuser":
        assert "not a minemap role" in errors(at)[0]
    else:
        assert f"the {role} role may not" in errors(at)[0]


# --- downloads ------------------------------------------------------------------------------


def _downloads(at: AppTest) -> list[str]:
    return [b.label for b in at.get("download_button")]


@pytest.mark.parametrize("role", ["planner", "field"])
def test_ranked_task_downloads_for_planners_and_field_teams(world, role):
    at = signed_in(role)
    at.switch_page("views/priorities.py").run()
    assert _downloads(at) == ["GPKG", "GEOJSON", "CSV"]


@pytest.mark.parametrize("role", ["planner", "field", "funder"])
def test_report_download_for_roles_that_may_have_reports(world, role):
    at = signed_in(role)
    at.switch_page("views/reports.py").run()
    at.radio(key="report_format").set_value("csv").run()
    at.button(key="report_generate").click().run()
    assert not at.exception
    assert errors(at) == [], errors(at)
    assert _downloads(at) == ["Завантажити звіт (CSV)"]


def test_admin_sees_reports_page_but_may_not_download_reports(world):
    at = signed_in("admin")
    at.switch_page("views/reports.py").run()
    assert i18n.t("reports.no_download", "uk") in [i.value for i in at.info]
    assert _downloads(at) == []
    assert not [b for b in at.button if b.key == "report_generate"]


def test_admin_reads_and_exports_the_audit_log_without_secrets(world):
    from minemap_app import cache

    at = signed_in("admin")
    at.switch_page("views/admin.py").run()
    assert _downloads(at) == [i18n.t("admin.audit_csv", "uk")]
    log = next(d.value for d in at.dataframe if i18n.t("admin.col.action", "uk") in d.value)
    assert "sign_in" in set(log[i18n.t("admin.col.action", "uk")])
    data = cache.audit_csv(cache.store_path(), cache.audit_version(cache.store_path()), "admin")
    text = data.decode("utf-8")
    assert "sign_in" in text
    assert "user_added" in text
    assert PASSWORD not in text
    assert VICTIM not in text


def test_admin_audit_view_shows_an_entry_recorded_after_it_was_cached(world):
    """Audit entries leave data_version alone, yet the (cached) audit view is current."""
    from minemap_app import cache

    path = cache.store_path()
    action = i18n.t("admin.col.action", "uk")
    at = signed_in("admin")
    at.switch_page("views/admin.py").run()
    first = next(d.value for d in at.dataframe if action in d.value)
    assert "zz_marker_entry" not in set(first[action])
    version = cache.data_version(path)
    cache.record(path, "zz_marker_entry", user="admin", detail={"what": "test"})
    assert cache.data_version(path) == version  # the data caches survive it
    at.run()
    assert not at.exception, at.exception
    log = next(d.value for d in at.dataframe if action in d.value)
    assert log[action].iloc[0] == "zz_marker_entry"  # newest first
    assert len(log) == len(first) + 1


@pytest.mark.parametrize(
    ("call", "role"),
    [
        ("tasks_file", "funder"),
        ("tasks_file", "admin"),
        ("report_file", "admin"),
        ("report_file", None),
        ("audit_csv", "planner"),
        ("audit_csv", "funder"),
        ("layer", None),
        ("prioritisation", "funder"),
        ("backtest", "field"),
        ("accounts", "planner"),
    ],
)
def test_data_functions_refuse_by_themselves(world, call, role):
    """The cached wrappers check the permission too, whatever a page does."""
    from minemap.auth import AccessDenied
    from minemap_app import cache

    path = cache.store_path()
    version = cache.data_version(path)
    calls = {
        "tasks_file": lambda: cache.tasks_file(path, version, role, None, "csv"),
        "report_file": lambda: cache.report_file(
            path, version, role, None, start=None, end=None, area=None, lang="en", fmt="csv"
        ),
        "audit_csv": lambda: cache.audit_csv(path, version, role),
        "layer": lambda: cache.layer(path, version, "casualties", role),
        "prioritisation": lambda: cache.prioritisation(path, version, role, None),
        "backtest": lambda: cache.backtest(
            path,
            version,
            role,
            as_of=date(2023, 10, 1),
            until=None,
            weights=(("default", None),),
            n_boot=10,
        ),
        "accounts": lambda: cache.accounts(path, role),
    }
    with pytest.raises(AccessDenied):
        calls[call]()


# --- what a funder session can reach --------------------------------------------------------


def _scan(blob: str | bytes, where: str) -> None:
    text = blob.decode("utf-8", errors="replace") if isinstance(blob, bytes) else blob
    found = [s for s in SECRETS if s in text]
    assert found == [], f"{where} holds {found}"


def test_funder_session_holds_no_victim_data_and_no_exact_casualty_points(world):
    at = signed_in("funder")
    at.sidebar.multiselect(key="map_layers__uk").set_value(
        ["hazards", "cleared", "strikes", "casualties"]
    ).run()
    assert not at.exception
    assert i18n.t("map.aggregate_note", "uk") in [c.value for c in at.caption]
    _scan(payload(at), "the funder's map page")
    assert "HZ-3" not in payload(at)  # no uncleared hazard features, only cells
    at.switch_page("views/reports.py").run()
    for fmt in ("csv", "pdf", "xlsx"):
        at.radio(key="report_format").set_value(fmt).run()
        at.button(key="report_generate").click().run()
        assert not at.exception
        assert errors(at) == [], errors(at)
        ready_fmt, data = at.session_state["report_ready"]
        assert ready_fmt == fmt
        if fmt == "xlsx":  # zipped XML: read the cells
            import io

            import openpyxl

            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            data = " ".join(
                str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row
            )
        _scan(data, f"the funder's {fmt} report")
        _scan(payload(at), "the funder's reports page")
    held = " ".join(repr(at.session_state[k]) for k in at.session_state)
    _scan(held, "the funder's session state")


def test_the_scan_finds_the_exact_point_on_a_planners_map(world):
    """Positive twin: the same scan does see the exact casualty point where it is allowed."""
    at = signed_in("planner")
    at.sidebar.multiselect(key="map_layers__uk").set_value(["casualties"]).run()
    assert f"{EXACT_LON}" in payload(at)


# --- actions that are audited ---------------------------------------------------------------


def _audit_actions(store: Path) -> list[tuple[str, str | None, dict]]:
    from minemap.store import open_store

    with open_store(store) as opened:
        log = opened.audit_log()
    return list(zip(log["action"], log["user"], log["detail"], strict=True))


def test_admin_adds_and_disables_an_account_through_the_page(world):
    at = signed_in("admin")
    at.switch_page("views/admin.py").run()
    at.text_input(key="admin_new_name").input("e2e-newcomer")
    at.selectbox(key="admin_new_role").set_value("field")
    at.text_input(key="admin_new_password").input("a long enough password")
    next(b for b in at.button if b.label == i18n.t("admin.add_submit", "uk")).click().run()
    assert not at.exception, at.exception
    assert i18n.t("admin.added", "uk", name="e2e\\-newcomer") in [s.value for s in at.success]
    at.selectbox(key="admin_target").set_value("e2e-newcomer")
    at.button(key="admin_apply").click().run()  # default change: disable
    assert not at.exception, at.exception
    added = [d for a, u, d in _audit_actions(world) if a == "user_added" and u == ACCOUNTS["admin"]]
    assert {"name": "e2e-newcomer", "role": "field"}.items() <= added[-1].items()
    changed = [d for a, _, d in _audit_actions(world) if a == "user_changed"]
    assert changed[-1]["name"] == "e2e-newcomer"
    assert changed[-1]["disabled"] is True


def test_a_weak_password_is_refused_with_the_reason(world):
    at = signed_in("admin")
    at.switch_page("views/admin.py").run()
    at.text_input(key="admin_new_name").input("e2e-weak")
    at.text_input(key="admin_new_password").input("short")
    next(b for b in at.button if b.label == i18n.t("admin.add_submit", "uk")).click().run()
    assert not at.exception
    assert any("12" in e for e in errors(at)), errors(at)


def test_a_weight_change_is_audited_with_old_and_new_weights(world):
    at = signed_in("planner")
    at.switch_page("views/priorities.py").run()
    at.sidebar.slider(key="w_casualty_risk").set_value(0.0).run()
    assert not at.exception
    entries = [
        d
        for a, u, d in _audit_actions(world)
        if a == "weights_changed" and u == ACCOUNTS["planner"]
    ]
    assert entries
    assert entries[-1]["new"]["casualty_risk"] == 0.0
    assert entries[-1]["old"]["casualty_risk"] > 0.0


def test_a_fresh_store_without_accounts_says_how_to_make_the_first(tmp_path, monkeypatch):
    monkeypatch.setenv("MINEMAP_STORE", str(tmp_path / "empty.gpkg"))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    assert i18n.t("signin.no_accounts", "uk") in [w.value for w in at.warning]
    assert not (tmp_path / "empty.gpkg").exists()  # serving creates no store, no credentials
