"""Roles, sign-in and audit (issue 6): who may read and do what, and who did what.

- :mod:`minemap.auth.roles` — the four roles as data (actions, layer access);
- :mod:`minemap.auth.access` — the one place that decides what a role may read
  (:func:`read_layer_for`, :func:`can`, :func:`require`);
- :mod:`minemap.auth.passwords` — argon2id hashing and the password policy;
- :mod:`minemap.auth.accounts` — local accounts, rate-limited sign-in, sessions;
- :mod:`minemap.auth.oidc` — single sign-on identities (Streamlit ``st.login``) → roles.

``minemap`` never imports streamlit; the app calls these functions (see
``docs/security.md``, "App integration").
"""

from __future__ import annotations

from minemap._errors import AccessDenied, AccountError, AuthError
from minemap.auth.access import (
    AGGREGATE_H3_RESOLUTION,
    COUNT_BANDS,
    aggregate_layer,
    audit_log_for,
    batches_for,
    can,
    count_band,
    layer_access,
    read_layer_for,
    report_inputs_for,
    require,
)
from minemap.auth.accounts import (
    DEFAULT_POLICY,
    Account,
    Session,
    SignInPolicy,
    add_user,
    demo_accounts,
    disable_user,
    enable_user,
    list_accounts,
    normalise_name,
    session_user,
    set_password,
    set_role,
    sign_in,
    sign_out,
)
from minemap.auth.oidc import (
    OidcIdentity,
    OidcRoleMap,
    oidc_sign_in,
    parse_role_map,
    role_for_identity,
)
from minemap.auth.roles import ACTIONS, POLICIES, ROLES, LayerAccess, Role, RolePolicy

__all__ = [
    "ACTIONS",
    "AGGREGATE_H3_RESOLUTION",
    "COUNT_BANDS",
    "DEFAULT_POLICY",
    "POLICIES",
    "ROLES",
    "AccessDenied",
    "Account",
    "AccountError",
    "AuthError",
    "LayerAccess",
    "OidcIdentity",
    "OidcRoleMap",
    "Role",
    "RolePolicy",
    "Session",
    "SignInPolicy",
    "add_user",
    "aggregate_layer",
    "audit_log_for",
    "batches_for",
    "can",
    "count_band",
    "demo_accounts",
    "disable_user",
    "enable_user",
    "layer_access",
    "list_accounts",
    "normalise_name",
    "oidc_sign_in",
    "parse_role_map",
    "read_layer_for",
    "report_inputs_for",
    "require",
    "role_for_identity",
    "session_user",
    "set_password",
    "set_role",
    "sign_in",
    "sign_out",
]
