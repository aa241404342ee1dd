"""Single sign-on identities (as Streamlit's ``st.user`` gives them) mapped to roles."""

from __future__ import annotations

import tomllib

import pytest

from minemap._errors import ConfigError
from minemap.auth import AuthError, add_user, disable_user, oidc_sign_in, parse_role_map
from minemap.auth.oidc import role_for_identity

SECRETS = """
[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "a-long-random-string"
client_id = "minemap"
client_secret = "from-the-idp"
server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"

[minemap.oidc]
issuer = "https://accounts.google.com"
[minemap.oidc.roles]
"Olena.K@Example.org" = "planner"
"@fsd.example.org" = "field"
"sub:1098765" = "admin"
"boss@fsd.example.org" = "funder"
"""


@pytest.fixture
def role_map():
    return parse_role_map(tomllib.loads(SECRETS)["minemap"]["oidc"])


def _user(**claims):
    base = {"is_logged_in": True, "iss": "https://accounts.google.com", "email_verified": True}
    return base | claims


def test_exact_email_then_domain_then_nothing(role_map):
    olena = role_for_identity(_user(sub="1", email="olena.k@example.org"), role_map)
    assert (olena.name, olena.role, olena.matched) == ("olena.k@example.org", "planner",
                                                       "olena.k@example.org")  # fmt: skip
    taras = role_for_identity(_user(sub="2", email="Taras@FSD.example.org"), role_map)
    assert (taras.role, taras.matched) == ("field", "@fsd.example.org")
    boss = role_for_identity(_user(sub="3", email="boss@fsd.example.org"), role_map)
    assert boss.role == "funder"  # an exact address beats its domain
    with pytest.raises(AuthError, match=r"stranger@gmail\.com has no minemap role"):
        role_for_identity(_user(sub="4", email="stranger@gmail.com"), role_map)


def test_subject_beats_email(role_map):
    admin = role_for_identity(_user(sub="1098765", email="olena.k@example.org"), role_map)
    assert (admin.role, admin.matched) == ("admin", "sub:1098765")
    no_email = role_for_identity(_user(sub="1098765"), role_map)
    assert no_email.name == "sub:1098765"


def test_unverified_email_gets_no_role(role_map):
    claims = _user(sub="5", email="olena.k@example.org", email_verified=False)
    with pytest.raises(AuthError, match="not verified"):
        role_for_identity(claims, role_map)
    relaxed = parse_role_map({"roles": {"olena.k@example.org": "planner"},
                              "require_verified_email": False})  # fmt: skip
    assert role_for_identity(claims, relaxed).role == "planner"


def test_other_issuer_and_anonymous_are_refused(role_map):
    with pytest.raises(AuthError, match="identity provider is not accepted"):
        role_for_identity(_user(sub="1098765", iss="https://evil.example"), role_map)
    with pytest.raises(AuthError, match="not signed in"):
        role_for_identity({"is_logged_in": False}, role_map)
    with pytest.raises(AuthError, match="not signed in"):
        role_for_identity({}, role_map)


def test_no_mapping_means_nobody_gets_in():
    with pytest.raises(AuthError, match="has no minemap role"):
        role_for_identity(_user(sub="1", email="olena.k@example.org"), parse_role_map(None))


def test_bad_mappings_list_every_problem():
    with pytest.raises(ConfigError) as info:
        parse_role_map(
            {
                "roles": {"olena@example.org": "superuser", "not an identity": "field"},
                "issuer": "http://insecure.example",
                "default_role": "funder",
            }
        )
    message = str(info.value)
    assert "unknown keys ['default_role']" in message
    assert "'superuser' is not a role" in message
    assert "'not an identity' is not 'sub:<subject>'" in message
    assert "https://" in message


def test_oidc_sign_in_is_audited_and_disabled_local_accounts_block(store, role_map, fast_hasher):
    identity = oidc_sign_in(store, _user(sub="1", email="olena.k@example.org"), role_map)
    assert identity.role == "planner"
    with pytest.raises(AuthError):
        oidc_sign_in(store, _user(sub="9", email="stranger@gmail.com"), role_map)
    add_user(store, "taras@fsd.example.org", role="field", password="x" * 16, hasher=fast_hasher)
    disable_user(store, "taras@fsd.example.org")
    with pytest.raises(AuthError, match="disabled"):
        oidc_sign_in(store, _user(sub="2", email="taras@fsd.example.org"), role_map)
    log = store.audit_log()
    signed = log[log["action"] == "sign_in"]["detail"].tolist()
    assert signed == [{"name": "olena.k@example.org", "role": "planner", "method": "oidc",
                       "matched": "olena.k@example.org"}]  # fmt: skip
    refused = log[log["action"] == "sign_in_refused"]["detail"].tolist()
    assert [d["method"] for d in refused] == ["oidc", "oidc"]
    assert refused[1]["reason"] == "disabled"
