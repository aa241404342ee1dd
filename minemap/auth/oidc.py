"""Single sign-on: map identities from Streamlit's OIDC login (``st.login``) to roles.

Streamlit does the OpenID Connect exchange (configured in ``.streamlit/secrets.toml``,
section ``[auth]``) and exposes the identity's claims as ``st.user``. Which person gets
which minemap role is decided here, from a mapping in the same ``secrets.toml``::

    [minemap.oidc]
    issuer = "https://accounts.google.com"      # optional: only this IdP's identities
    require_verified_email = true               # default true
    [minemap.oidc.roles]
    "olena.k@example.org" = "planner"           # one e-mail address
    "@fsd.example.org" = "field"                # everybody with a verified address there
    "sub:109876543210987654321" = "admin"       # one subject id (stable even if e-mail changes)

Matching order: subject id, then exact e-mail, then e-mail domain. An identity that
matches nothing gets no role: sign-in is refused (there is no default role). E-mail
rules apply only to verified addresses (``email_verified`` claim) unless
``require_verified_email = false``.

Everything here is a pure function of plain dicts (``st.user.to_dict()`` and
``st.secrets["minemap"]["oidc"]``), so it is tested without an identity provider;
:func:`oidc_sign_in` adds the store's audit entry and the check against disabled
accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from minemap._errors import AccountError, AuthError, ConfigError
from minemap.auth.accounts import normalise_name
from minemap.auth.roles import ROLES
from minemap.store._base import Store

__all__ = ["OidcIdentity", "OidcRoleMap", "oidc_sign_in", "parse_role_map", "role_for_identity"]


@dataclass(frozen=True, slots=True)
class OidcRoleMap:
    """Who gets which role after an OIDC sign-in (see the module docstring).

    Attributes
    ----------
    subjects : mapping of str to str
        ``sub`` claim → role.
    emails : mapping of str to str
        Lower-case e-mail address → role.
    domains : mapping of str to str
        Lower-case e-mail domain (without ``@``) → role.
    issuer : str or None
        If set, identities from any other issuer (``iss`` claim) are refused.
    require_verified_email : bool
        E-mail and domain rules need ``email_verified`` to be true.
    """

    subjects: Mapping[str, str] = field(default_factory=dict)
    emails: Mapping[str, str] = field(default_factory=dict)
    domains: Mapping[str, str] = field(default_factory=dict)
    issuer: str | None = None
    require_verified_email: bool = True


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """A signed-in SSO identity with its minemap role.

    Attributes
    ----------
    name : str
        The name shown and audited: the e-mail address, else ``sub:<subject>``.
    role : str
    subject : str
        The ``sub`` claim.
    email : str or None
    matched : str
        Which rule gave the role (``"sub:…"``, the address, or ``"@domain"``).
    """

    name: str
    role: str
    subject: str
    email: str | None
    matched: str


def parse_role_map(config: Mapping[str, Any] | None) -> OidcRoleMap:
    """Read the ``[minemap.oidc]`` section of ``secrets.toml``.

    Parameters
    ----------
    config : mapping or None
        The section as a dict: ``roles`` (key → role), optional ``issuer`` and
        ``require_verified_email``. ``None`` or an empty mapping: nobody is mapped.

    Returns
    -------
    OidcRoleMap

    Raises
    ------
    ConfigError
        Every problem at once: unknown keys, roles that do not exist, rule keys that
        are neither ``sub:…``, an e-mail address nor ``@domain``.
    """
    config = dict(config or {})
    problems: list[str] = []
    unknown = set(config) - {"roles", "issuer", "require_verified_email"}
    if unknown:
        problems.append(
            f"unknown keys {sorted(unknown)} in [minemap.oidc]; "
            "allowed: roles, issuer, require_verified_email"
        )
    roles = config.get("roles") or {}
    if not isinstance(roles, Mapping):
        problems.append("[minemap.oidc.roles] must be a table of identity = role")
        roles = {}
    subjects: dict[str, str] = {}
    emails: dict[str, str] = {}
    domains: dict[str, str] = {}
    for raw_key, role in roles.items():
        key = str(raw_key).strip()
        if role not in ROLES:
            problems.append(f"{key!r}: {role!r} is not a role (roles: {', '.join(ROLES)})")
            continue
        if key.startswith("sub:") and len(key) > 4:
            subjects[key[4:]] = role
        elif key.startswith("@") and "." in key[1:] and "@" not in key[1:]:
            domains[key[1:].lower()] = role
        elif key.count("@") == 1 and not key.startswith("@") and "." in key.split("@")[1]:
            emails[key.lower()] = role
        else:
            problems.append(
                f"{key!r} is not 'sub:<subject>', an e-mail address or '@domain' "
                "in [minemap.oidc.roles]"
            )
    verified = config.get("require_verified_email", True)
    if not isinstance(verified, bool):
        problems.append("require_verified_email must be true or false")
        verified = True
    issuer = config.get("issuer")
    if issuer is not None and not (isinstance(issuer, str) and issuer.startswith("https://")):
        problems.append("issuer must be the identity provider's https:// issuer URL")
    if problems:
        raise ConfigError("the single sign-on role mapping is invalid: " + "; ".join(problems))
    return OidcRoleMap(
        MappingProxyType(subjects),
        MappingProxyType(emails),
        MappingProxyType(domains),
        issuer,
        verified,
    )


def role_for_identity(user: Mapping[str, Any], role_map: OidcRoleMap) -> OidcIdentity:
    """The minemap role of an OIDC identity (``st.user.to_dict()``).

    Parameters
    ----------
    user : mapping
        The identity's claims: ``is_logged_in``, ``sub``, ``email``,
        ``email_verified``, ``iss``.
    role_map : OidcRoleMap
        From :func:`parse_role_map`.

    Returns
    -------
    OidcIdentity

    Raises
    ------
    AuthError
        Not signed in, from another issuer, or no rule gives this identity a role.
    """
    if not user.get("is_logged_in", False) or not user.get("sub"):
        raise AuthError("not signed in with single sign-on")
    if role_map.issuer is not None and user.get("iss") != role_map.issuer:
        raise AuthError("this identity provider is not accepted here; ask an admin")
    subject = str(user["sub"])
    email = user.get("email")
    email = str(email).strip().lower() if email else None
    name = email or f"sub:{subject}"
    if subject in role_map.subjects:
        return OidcIdentity(name, role_map.subjects[subject], subject, email, f"sub:{subject}")
    verified = user.get("email_verified") is True or not role_map.require_verified_email
    if email and verified:
        if email in role_map.emails:
            return OidcIdentity(name, role_map.emails[email], subject, email, email)
        domain = email.rpartition("@")[2]
        if domain in role_map.domains:
            return OidcIdentity(name, role_map.domains[domain], subject, email, f"@{domain}")
    hint = " (the e-mail address is not verified)" if email and not verified else ""
    raise AuthError(
        f"{name} has no minemap role{hint}; ask an admin to add it to [minemap.oidc.roles]"
    )


def oidc_sign_in(store: Store, user: Mapping[str, Any], role_map: OidcRoleMap) -> OidcIdentity:
    """Resolve an OIDC identity's role and audit the sign-in (or its refusal).

    A local account with the same name that is *disabled* blocks the identity too, so
    an admin can shut out one SSO user with ``minemap users disable NAME``.

    Raises
    ------
    AuthError
        As :func:`role_for_identity`, or the identity's name is a disabled account.
    """
    try:
        identity = role_for_identity(user, role_map)
    except AuthError as exc:
        store.record_audit(
            "sign_in_refused",
            user=None,
            detail={"method": "oidc", "reason": str(exc)},
        )
        raise
    try:
        local = store.get_user(normalise_name(identity.name))
    except AccountError:
        local = None
    if local is not None and local.disabled:
        store.record_audit(
            "sign_in_refused",
            user=identity.name,
            detail={"name": identity.name, "method": "oidc", "reason": "disabled"},
        )
        raise AuthError("this account is disabled; ask an admin")
    store.record_audit(
        "sign_in",
        user=identity.name,
        detail={
            "name": identity.name,
            "role": identity.role,
            "method": "oidc",
            "matched": identity.matched,
        },
    )
    return identity
