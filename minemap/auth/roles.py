"""The four roles as data: what each may do (actions) and how it may read each layer.

Nothing else in minemap decides permissions: :mod:`minemap.auth.access` reads these
tables, the app asks :func:`minemap.auth.access.can`, and ``docs/security.md`` prints
the same matrix. To change who may do what, change the tables here (and the tests in
``tests/auth/test_access.py`` will say what moved).

Layer access levels, from most to least revealing:

``"full"``
    Every field including victims' personal data, plus the unvetted extra source
    columns, exact geometry (planner only).
``"exact"``
    Exact geometry and the schema's non-personal fields. Extra source columns are
    *not* included: they are whatever an uploaded file carried besides the schema, and
    may hold names the schema did not recognise.
``"aggregate"``
    Counts (and sums, areas) per coarse H3 cell (resolution 5, ≈ 250 km²); no feature
    geometry, no ids, no free text.
``"none"``
    Nothing; reading raises :class:`~minemap.AccessDenied`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from minemap.layers import LAYER_NAMES

__all__ = [
    "ACCESS_LEVELS",
    "ACTIONS",
    "POLICIES",
    "ROLES",
    "LayerAccess",
    "Role",
    "RolePolicy",
]

Role = Literal["planner", "field", "funder", "admin"]
LayerAccess = Literal["full", "exact", "aggregate", "none"]

ROLES: Final[tuple[Role, ...]] = ("planner", "field", "funder", "admin")
ACCESS_LEVELS: Final[tuple[LayerAccess, ...]] = ("full", "exact", "aggregate", "none")

ACTIONS: Final = MappingProxyType(
    {
        "view_map": "Open the map (what it shows follows the layer access)",
        "view_tasks": "See prioritised clearance tasks (exact hazard geometry)",
        "view_reports": "See reports and aggregate dashboards",
        "download_reports": "Download reports (PDF/CSV summaries)",
        "download_layers": "Download layer data (GeoPackage/GeoJSON/CSV) at the role's access",
        "upload": "Upload survey files and see their validation results",
        "view_own_batches": "See the batches one imported oneself",
        "view_batches": "See every import batch",
        "undo_batch": "Undo an import batch",
        "change_weights": "Change the prioritisation weights",
        "read_personal": "Read victims' personal data (name, age, sex)",
        "view_audit": "See the audit log",
        "export_audit": "Export the audit log",
        "manage_users": "Add and disable accounts",
    }
)
"""Every action a role may be allowed, with what it means (the app names its pages and
downloads after these)."""


@dataclass(frozen=True, slots=True)
class RolePolicy:
    """What one role may do and read.

    Attributes
    ----------
    role : str
        The role's name.
    description : str
        One line for people (docs, the admin page).
    actions : frozenset of str
        Allowed actions (keys of :data:`ACTIONS`).
    layers : mapping of str to str
        Access level per canonical layer (see the module docstring).
    """

    role: Role
    description: str
    actions: frozenset[str]
    layers: MappingProxyType[str, LayerAccess]


def _policy(
    role: Role, description: str, actions: set[str], layers: dict[str, LayerAccess]
) -> RolePolicy:
    unknown = actions - set(ACTIONS)
    if unknown or set(layers) != set(LAYER_NAMES):
        raise ValueError(f"role {role}: bad policy table ({sorted(unknown)}, {sorted(layers)})")
    return RolePolicy(role, description, frozenset(actions), MappingProxyType(dict(layers)))


_EVERY_LAYER_EXACT: dict[str, LayerAccess] = {name: "exact" for name in LAYER_NAMES}

POLICIES: Final = MappingProxyType(
    {
        "planner": _policy(
            "planner",
            "Plans clearance: everything, including victims' personal data and exact "
            "casualty points; changes weights, undoes batches.",
            {
                "view_map",
                "view_tasks",
                "view_reports",
                "download_reports",
                "download_layers",
                "upload",
                "view_own_batches",
                "view_batches",
                "undo_batch",
                "change_weights",
                "read_personal",
            },
            {name: "full" for name in LAYER_NAMES},
        ),
        "field": _policy(
            "field",
            "Survey and clearance teams: upload surveys, see their validation results and "
            "their own batches, hazards and tasks; no victims' personal data.",
            {
                "view_map",
                "view_tasks",
                "view_reports",
                "download_reports",
                "download_layers",
                "upload",
                "view_own_batches",
            },
            _EVERY_LAYER_EXACT,
        ),
        "funder": _policy(
            "funder",
            "Donors and reviewers: reports and aggregate dashboards only; no exact casualty "
            "points or strike sites, no uncleared hazard geometry, no personal data.",
            {"view_map", "view_reports", "download_reports"},
            {
                "casualties": "aggregate",
                "strikes": "aggregate",
                "hazards": "aggregate",
                # Released land is safe land: its exact outline is what funders paid for.
                "cleared": "exact",
                "farmland": "exact",
                # Settlements and their population are public reference data (census,
                # OpenStreetMap): no personal fields. Exact, without the extra columns.
                "settlements": "exact",
            },
        ),
        "admin": _policy(
            "admin",
            "Runs the installation: manages accounts, reads and exports the audit log; "
            "sees data only as funders do (a person who also plans needs a planner "
            "account of their own).",
            {"view_map", "view_reports", "view_audit", "export_audit", "manage_users"},
            {
                "casualties": "aggregate",
                "strikes": "aggregate",
                "hazards": "aggregate",
                "cleared": "exact",
                "farmland": "exact",
                "settlements": "exact",
            },
        ),
    }
)
"""The policy of every role, keyed by role name."""
