-- minemap PostGIS store, schema version 3: derived results (issue 3).
-- Caches of the data (e.g. the hazard surface), rebuildable from the layers at any time.
-- Not data: writing them never moves minemap_meta.data_version and is not audited.
-- One row per key; a new result replaces the old one in one transaction (MVCC: readers
-- see the old row or the new one, whole).

CREATE TABLE minemap_derived (
  key text PRIMARY KEY,
  params_sha256 text NOT NULL,
  inputs_json text NOT NULL,
  minemap_version text NOT NULL,
  created_at timestamptz NOT NULL,
  payload bytea NOT NULL,
  payload_sha256 text NOT NULL
);
