"""The optional settlements layer in the app: an upload choice, and people exposed on the
Priorities page once a settlements file is ingested."""

from __future__ import annotations

import json

from minemap.ingest import ingest_file
from minemap.store import open_store
from minemap_app import i18n
from tests.app.conftest import signed_in


def test_upload_offers_the_settlements_layer(seeded_store):
    at = signed_in("field")
    at.switch_page("views/upload.py").run()
    assert not at.exception, at.exception
    assert at.selectbox[0].options[-1] == i18n.t("layer.settlements", "uk")


def test_priorities_show_people_exposed_after_a_settlements_upload(seeded_store, tmp_path):
    at = signed_in("planner")
    at.switch_page("views/priorities.py").run()
    assert not at.exception, at.exception
    col = i18n.t("col.people_exposed", "uk")
    before = at.dataframe[0].value
    assert (before[col] == 0).all()  # no settlements layer yet: nobody counted
    note = i18n.t("prio.no_people", "uk")
    assert note in [c.value for c in at.caption]

    with open_store(seeded_store) as store:
        hazard = store.read_layer("hazards").geometry.iloc[0]
    spot = hazard.representative_point()
    path = tmp_path / "places.geojson"
    feature = {
        "type": "Feature",
        "properties": {"settlement_id": "V-1", "population": 4321, "settlement_type": "село"},
        "geometry": {"type": "Point", "coordinates": [spot.x, spot.y]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), "utf-8")
    result = ingest_file(path, "settlements", store=seeded_store, user="e2e")
    assert result.status == "accepted", [str(e) for e in result.report.errors]

    at = signed_in("planner")
    at.switch_page("views/priorities.py").run()
    assert not at.exception, at.exception
    after = at.dataframe[0].value
    assert after[col].max() == 4321
    assert i18n.t("component.people_exposed", "uk") in after.columns
    assert note not in [c.value for c in at.caption]
