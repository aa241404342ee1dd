"""KML uploads: placemarks, attributes, folders, and XML that must be refused."""

from __future__ import annotations

import pytest
import shapely

from minemap import UnsafeInputError, UploadError
from minemap.io import read_upload

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
 <Document><name>survey</name>
  <Folder><name>hazards</name>
   <Placemark><name>SHA-1</name><description>crater field</description>
    <ExtendedData><Data name="hazard_type"><value>SHA</value></Data>
     <SchemaData schemaUrl="#s"><SimpleData name="contamination">CMR</SimpleData></SchemaData>
    </ExtendedData>
    <Polygon><outerBoundaryIs><LinearRing><coordinates>
      36.0,48.0,0 36.1,48.0,0 36.1,48.1,0 36.0,48.1,0
    </coordinates></LinearRing></outerBoundaryIs>
    <innerBoundaryIs><LinearRing><coordinates>
      36.02,48.02 36.05,48.02 36.05,48.05 36.02,48.02
    </coordinates></LinearRing></innerBoundaryIs></Polygon>
   </Placemark>
  </Folder>
  <Folder><name>strikes</name>
   <Placemark><name>S-1</name><Point><coordinates>37.5,47.5</coordinates></Point></Placemark>
   <Placemark><name>S-2</name><MultiGeometry>
     <Point><coordinates>37.6,47.6</coordinates></Point>
     <Point><coordinates>37.7,47.7</coordinates></Point></MultiGeometry></Placemark>
   <Placemark><name>bad</name><Point><coordinates>abc,47</coordinates></Point></Placemark>
  </Folder>
 </Document>
</kml>
"""


def test_kml_placemarks_attributes_and_repairs(tmp_path):
    path = tmp_path / "survey.kml"
    path.write_text(KML, encoding="utf-8")
    result = read_upload(path)
    frame = result.frame
    assert result.format == "kml"
    assert frame["name"].tolist() == ["SHA-1", "S-1", "S-2", "bad"]
    assert frame["hazard_type"].iloc[0] == "SHA"
    assert frame["contamination"].iloc[0] == "CMR"
    assert frame["description"].iloc[0] == "crater field"
    shell = [(36.0, 48.0), (36.1, 48.0), (36.1, 48.1), (36.0, 48.1), (36.0, 48.0)]
    hole = [(36.02, 48.02), (36.05, 48.02), (36.05, 48.05), (36.02, 48.02)]
    assert frame.geometry.iloc[0].equals(shapely.Polygon(shell, [hole]))
    assert frame.geometry.iloc[2].equals(shapely.MultiPoint([(37.6, 47.6), (37.7, 47.7)]))
    assert frame.geometry.iloc[3] is None
    assert result.labels.tolist() == [f"placemark {i}" for i in range(1, 5)]
    assert [e.feature for e in result.report.errors] == ["placemark 4"]
    problems = " | ".join(r.problem for r in result.report.repairs)
    assert "not closed" in problems
    assert "3-D" in problems


def test_kml_folder_selected_by_layer_name(tmp_path):
    path = tmp_path / "survey.kml"
    path.write_text(KML, encoding="utf-8")
    result = read_upload(path, layer_name="strikes")
    assert result.frame["name"].tolist() == ["S-1", "S-2", "bad"]
    assert result.labels.tolist() == ["placemark 2", "placemark 3", "placemark 4"]
    with pytest.raises(UploadError, match=r"no folder 'x'.*hazards, strikes"):
        read_upload(path, layer_name="x")


def test_kml_sniffed_despite_json_extension(tmp_path):
    path = tmp_path / "survey.geojson"
    path.write_text(KML, encoding="utf-8")
    assert read_upload(path).format == "kml"


BOMB = """<?xml version="1.0"?>
<!DOCTYPE kml [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&d;</name>
<Point><coordinates>30,50</coordinates></Point></Placemark></kml>
"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&leak;</name>
<Point><coordinates>30,50</coordinates></Point></Placemark></kml>
"""


@pytest.mark.parametrize("text", [BOMB, EXTERNAL], ids=["entity-bomb", "external-entity"])
def test_entities_and_dtds_refused(tmp_path, text):
    path = tmp_path / "evil.kml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnsafeInputError, match="DTD, entities or external references"):
        read_upload(path)


def test_damaged_xml(tmp_path):
    path = tmp_path / "broken.kml"
    path.write_text('<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark>', encoding="utf-8")
    with pytest.raises(UploadError, match="damaged XML"):
        read_upload(path)


def test_other_xml_is_not_kml(tmp_path):
    path = tmp_path / "x.kml"
    path.write_text('<gpx version="1.1"></gpx>', encoding="utf-8")
    with pytest.raises(UploadError, match="<gpx> is not KML"):
        read_upload(path)


def test_deeply_nested_folders_refused_cleanly(tmp_path):
    depth = 5000
    body = "<Folder>" * depth + "<Placemark/>" + "</Folder>" * depth
    path = tmp_path / "deep.kml"
    path.write_text(f'<kml xmlns="http://www.opengis.net/kml/2.2">{body}</kml>', encoding="utf-8")
    with pytest.raises(UnsafeInputError, match="nested too deeply"):
        read_upload(path)
