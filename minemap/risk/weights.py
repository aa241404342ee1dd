"""Priority weights: open, versioned, validated TOML files.

A weights file names its ``version`` and ``name`` and gives one non-negative number per
priority component in a ``[weights]`` table. Optional tables: ``[normalisation]``
(``method = "rank"`` or ``"log-minmax"``) and ``[evidence_strength]`` (the 0..1 strength
of each evidence class). The defaults ship with the package
(``minemap/risk/data/weights-default.toml``); a planner's own file is read with
:func:`load_weights` and checked completely before use: every problem is collected and
reported in one :class:`~minemap._errors.ConfigError`.

Example file::

    version = "2025.1"
    name = "oblast-spring-plan"

    [weights]
    casualty_risk = 30
    expected_items = 25
    people_exposed = 15   # optional: left out = 0
    evidence_strength = 15
    farmland_impact = 20
    cost_per_ha = 10
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from minemap._errors import ConfigError

__all__ = [
    "COMPONENTS",
    "EVIDENCE_CLASSES",
    "NORMALISATIONS",
    "OPTIONAL_COMPONENTS",
    "Weights",
    "default_weights",
    "load_weights",
    "parse_weights",
    "weights_from_mapping",
]

COMPONENTS: tuple[str, ...] = (
    "casualty_risk",
    "expected_items",
    "people_exposed",
    "evidence_strength",
    "farmland_impact",
    "cost_per_ha",
)
"""The priority components, in the order they are shown."""

OPTIONAL_COMPONENTS: tuple[str, ...] = ("people_exposed",)
"""Components a weights file may leave out (weight 0): ``people_exposed`` came with the
settlements layer (weights 1.1.0), so files written before it keep their ranking."""

EVIDENCE_CLASSES: tuple[str, ...] = ("CHA", "casualty", "strike", "SHA")
"""Evidence classes of a task (``evidence_class`` column of the task frame)."""

NORMALISATIONS: tuple[str, ...] = ("rank", "log-minmax")

_DEFAULT_FILE = "weights-default.toml"
_TOP_KEYS = {"version", "name", "description", "weights", "normalisation", "evidence_strength"}


@dataclass(frozen=True)
class Weights:
    """A validated weight set.

    Attributes
    ----------
    name, version : str
        As written in the file; recorded in every run record.
    weights : dict of str to float
        One non-negative weight per component in :data:`COMPONENTS` (not all zero).
    normalisation : str
        ``"rank"`` or ``"log-minmax"``.
    evidence_strength : dict of str to float
        Strength 0..1 of each class in :data:`EVIDENCE_CLASSES`.
    description : str
    source : str
        Where the set came from (file path or ``"<default>"``); not part of :attr:`sha256`.
    """

    name: str
    version: str
    weights: dict[str, float]
    normalisation: str = "rank"
    evidence_strength: dict[str, float] = field(default_factory=dict)
    description: str = ""
    source: str = "<mapping>"

    def to_dict(self) -> dict[str, Any]:
        """The content that defines the ranking (what :attr:`sha256` hashes)."""
        return {
            "name": self.name,
            "version": self.version,
            "weights": {k: float(self.weights[k]) for k in COMPONENTS},
            "normalisation": self.normalisation,
            "evidence_strength": {k: float(self.evidence_strength[k]) for k in EVIDENCE_CLASSES},
        }

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (same numbers → same hash)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def total(self) -> float:
        return float(sum(self.weights.values()))

    def replace_weights(self, weights: Mapping[str, float], *, suffix: str) -> Weights:
        """A copy with other weights (used by sensitivity scenarios); not re-validated
        for all-zero so that leave-one-out of a single non-zero weight can be expressed.
        An optional component left out (:data:`OPTIONAL_COMPONENTS`) gets 0, as in a file."""
        missing = sorted(set(COMPONENTS) - set(weights) - set(OPTIONAL_COMPONENTS))
        if missing:
            raise KeyError(f"weights for {', '.join(missing)} missing")
        return Weights(
            name=f"{self.name}{suffix}",
            version=self.version,
            weights={k: float(weights.get(k, 0.0)) for k in COMPONENTS},
            normalisation=self.normalisation,
            evidence_strength=dict(self.evidence_strength),
            description=self.description,
            source=self.source,
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def weights_from_mapping(data: Mapping[str, Any], *, source: str = "<mapping>") -> Weights:
    """Validate a parsed weights document and build a :class:`Weights`.

    Parameters
    ----------
    data : mapping
        The parsed TOML document (``version``, ``name``, ``[weights]``, optional
        ``[normalisation]`` and ``[evidence_strength]``).
    source : str
        Named in error messages (the file name).

    Returns
    -------
    Weights

    Raises
    ------
    ConfigError
        Once, listing every problem found (unknown or missing component, negative or
        non-numeric weight, all weights zero, missing version or name, unknown
        normalisation, evidence strength outside 0..1, unknown top-level keys).
    """
    problems: list[str] = []
    defaults = _default_document()

    version = data.get("version")
    if version is None:
        problems.append('missing "version" (e.g. version = "1.0.0"): runs record it')
    elif not isinstance(version, str | int | float) or isinstance(version, bool):
        problems.append(f'"version" must be a string such as "1.0.0", got {version!r}')
    name = data.get("name")
    if name is None:
        problems.append('missing "name" (e.g. name = "oblast-spring-plan")')
    elif not isinstance(name, str) or not name.strip():
        problems.append(f'"name" must be a non-empty string, got {name!r}')
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(f"unknown top-level key {key!r}; allowed: {', '.join(sorted(_TOP_KEYS))}")

    weights: dict[str, float] = {}
    table = data.get("weights")
    if table is None:
        problems.append(f"missing [weights] table with {', '.join(COMPONENTS)}")
        table = {}
    elif not isinstance(table, Mapping):
        problems.append("[weights] must be a table of component = number")
        table = {}
    for key in sorted(set(table) - set(COMPONENTS)):
        problems.append(f"unknown component {key!r} in [weights]; known: {', '.join(COMPONENTS)}")
    for comp in COMPONENTS:
        if comp not in table and comp in OPTIONAL_COMPONENTS:
            weights[comp] = 0.0
            continue
        if comp not in table:
            if data.get("weights") is not None:
                problems.append(
                    f"component {comp!r} missing from [weights] (write {comp} = 0 to ignore it)"
                )
            continue
        value = _number(table[comp])
        if value is None or not math.isfinite(value):
            problems.append(f"weight {comp} = {table[comp]!r} is not a finite number")
        elif value < 0:
            problems.append(f"weight {comp} = {value:g} is negative; weights must be >= 0")
        else:
            weights[comp] = value
    if len(weights) == len(COMPONENTS) and sum(weights.values()) == 0:
        problems.append("all weights are zero: at least one component must count")

    norm_table = data.get("normalisation", {})
    method = defaults["normalisation"]["method"]
    if not isinstance(norm_table, Mapping):
        problems.append('[normalisation] must be a table, e.g. method = "rank"')
    else:
        for key in sorted(set(norm_table) - {"method"}):
            problems.append(f"unknown key {key!r} in [normalisation]; allowed: method")
        method = norm_table.get("method", method)
        if method not in NORMALISATIONS:
            problems.append(
                f"normalisation method {method!r} unknown; "
                f"choose one of {', '.join(NORMALISATIONS)}"
            )

    strength = dict(defaults["evidence_strength"])
    ev_table = data.get("evidence_strength", {})
    if not isinstance(ev_table, Mapping):
        problems.append("[evidence_strength] must be a table of class = number in 0..1")
        ev_table = {}
    for key in sorted(set(ev_table) - set(EVIDENCE_CLASSES)):
        problems.append(
            f"unknown evidence class {key!r} in [evidence_strength]; "
            f"known: {', '.join(EVIDENCE_CLASSES)}"
        )
    for cls in EVIDENCE_CLASSES:
        if cls in ev_table:
            value = _number(ev_table[cls])
            if value is None or not (0.0 <= value <= 1.0):
                problems.append(f"evidence strength {cls} = {ev_table[cls]!r} must be in 0..1")
            else:
                strength[cls] = value

    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        raise ConfigError(f"weights file {source}: {len(problems)} {noun}:\n{lines}")

    return Weights(
        name=str(name).strip(),
        version=str(version),
        weights={k: weights[k] for k in COMPONENTS},
        normalisation=str(method),
        evidence_strength={k: float(strength[k]) for k in EVIDENCE_CLASSES},
        description=str(data.get("description", "")),
        source=source,
    )


def parse_weights(text: str, *, source: str = "<text>") -> Weights:
    """Parse and validate the text of a weights TOML file (see :func:`weights_from_mapping`).

    Raises
    ------
    ConfigError
        If the text is not TOML (with the line named) or any value is invalid.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"weights file {source}: not valid TOML: {exc}") from None
    return weights_from_mapping(data, source=source)


def load_weights(path: str | os.PathLike[str]) -> Weights:
    """Read and validate a planner's weights file.

    Parameters
    ----------
    path : path-like
        A UTF-8 TOML file.

    Returns
    -------
    Weights

    Raises
    ------
    ConfigError
        The file is missing, unreadable, not TOML, or has invalid content (all problems
        listed at once).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"weights file {p.name}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"weights file {p.name}: cannot be read ({exc})") from None
    return parse_weights(text, source=p.name)


def _default_text() -> str:
    return resources.files("minemap").joinpath("risk", "data", _DEFAULT_FILE).read_text("utf-8")


def _default_document() -> dict[str, Any]:
    return tomllib.loads(_default_text())


def default_weights() -> Weights:
    """The weight set shipped with minemap (``weights-default.toml``)."""
    data = _default_document()
    return weights_from_mapping(data, source="<default>")
