"""Admin page: accounts (list, add, disable/enable, role, password) and the audit log."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from minemap import auth
from minemap_app import cache, i18n, ui

ui.require("manage_users", "view_audit")
ui.page_header("admin")
lang = ui.lang()
path = cache.store_path()
role = ui.current_role()
me = ui.current_user()

if flash := st.session_state.pop("admin_flash", None):
    st.success(flash)


def when(value) -> str:
    return f"{i18n.fmt_date(value, lang)} {value:%H:%M} UTC"


if ui.can("manage_users"):
    st.subheader(ui.tr("admin.accounts"))
    people = cache.accounts(path, role)
    st.dataframe(
        pd.DataFrame(
            {
                ui.tr("admin.col.name"): [a.name for a in people],
                ui.tr("admin.col.role"): [ui.tr(f"role.{a.role}") for a in people],
                ui.tr("admin.col.state"): [
                    ui.tr("admin.disabled" if a.disabled else "admin.enabled") for a in people
                ],
                ui.tr("col.when"): [when(a.created_at) for a in people],
                ui.tr("admin.col.by"): [a.created_by or "–" for a in people],
            }
        ),
        hide_index=True,
        width="stretch",
        key="admin_accounts",
    )

    def _done(key: str, **values: object) -> None:
        st.session_state["admin_flash"] = ui.tr(key, **values)
        st.rerun()

    with st.form("admin_add", clear_on_submit=True):
        st.markdown(f"**{ui.tr('admin.add')}**")
        new_name = st.text_input(ui.tr("signin.name"), key="admin_new_name")
        new_role = st.selectbox(
            ui.tr("admin.col.role"),
            options=auth.ROLES,
            format_func=lambda r, lang=lang: i18n.t(f"role.{r}", lang),
            key="admin_new_role",
        )
        new_password = st.text_input(
            ui.tr("admin.new_password"), type="password", key="admin_new_password"
        )
        if st.form_submit_button(ui.tr("admin.add_submit")):
            ui.require("manage_users")
            try:
                added = cache.add_account(
                    path, new_name, new_role=new_role, password=new_password, role=role, by=me
                )
            except auth.AccountError as exc:
                st.error(ui.md_escape(exc))
            else:
                _done("admin.added", name=ui.md_escape(added.name))

    if people:
        st.markdown(f"**{ui.tr('admin.change')}**")
        columns = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
        target = columns[0].selectbox(
            ui.tr("admin.col.name"), options=[a.name for a in people], key="admin_target"
        )
        change = columns[1].selectbox(
            ui.tr("admin.what"),
            options=("disable", "enable", "role", "password"),
            format_func=lambda c, lang=lang: i18n.t(f"admin.do.{c}", lang),
            key=ui.widget_key("admin_change", "disable"),
        )
        ui.remember("admin_change", change)
        value = None
        if change == "role":
            value = columns[2].selectbox(
                ui.tr("admin.col.role"),
                options=auth.ROLES,
                format_func=lambda r, lang=lang: i18n.t(f"role.{r}", lang),
                key="admin_change_role",
            )
        elif change == "password":
            value = columns[2].text_input(
                ui.tr("admin.new_password"), type="password", key="admin_change_password"
            )
        if columns[3].button(ui.tr("admin.apply"), key="admin_apply"):
            ui.require("manage_users")
            try:
                cache.change_account(path, target, change, value=value, role=role, by=me)
            except auth.AccountError as exc:
                st.error(ui.md_escape(exc))
            else:
                st.session_state.pop("admin_change_password", None)
                _done("admin.changed", name=ui.md_escape(target))

if ui.can("view_audit"):
    st.subheader(ui.tr("admin.audit"))
    version = cache.audit_version(path)
    log = cache.audit_log(path, version, role)
    st.dataframe(
        pd.DataFrame(
            {
                "#": log["id"].astype("int64"),
                ui.tr("col.when"): [when(t) for t in log["at"]],
                ui.tr("col.user"): log["user"].astype(str),
                ui.tr("admin.col.action"): log["action"].astype(str),
                ui.tr("admin.col.detail"): [str(d) for d in log["detail"]],
            }
        ).head(1000),
        hide_index=True,
        width="stretch",
        key="admin_audit",
    )
    if ui.can("export_audit"):
        st.download_button(
            ui.tr("admin.audit_csv"),
            data=cache.audit_csv(path, version, role),
            file_name="minemap_audit.csv",
            mime="text/csv",
            key="admin_audit_csv",
            on_click=ui.audit_download,
            args=("audit_log", "csv", len(log), "audit_exported"),
        )
