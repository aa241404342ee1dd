-- minemap PostGIS store, schema version 1: batches, audit log, metadata.
-- Layer tables are created from the layer schemas by the store (see docs/store.md).
-- Runs inside one transaction under the migration advisory lock.

CREATE TABLE minemap_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE minemap_batches (
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  batch_id text PRIMARY KEY,
  file_name text NOT NULL,
  sha256 text NOT NULL,
  layer text NOT NULL,
  user_name text,
  created_at timestamptz NOT NULL,
  feature_count integer NOT NULL CHECK (feature_count >= 0),
  repair_count integer NOT NULL CHECK (repair_count >= 0),
  warning_count integer NOT NULL CHECK (warning_count >= 0),
  status text NOT NULL CHECK (status IN ('active', 'undone')),
  undone_at timestamptz,
  undone_by text,
  report_json text NOT NULL,
  extra_columns_json text NOT NULL DEFAULT '[]'
);

-- The same bytes can be active only once per layer, whatever the application does.
CREATE UNIQUE INDEX minemap_batches_one_active_sha
  ON minemap_batches (layer, sha256) WHERE status = 'active';

CREATE TABLE minemap_audit (
  id bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  user_name text,
  action text NOT NULL,
  detail text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);

CREATE FUNCTION minemap_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE FUNCTION minemap_batches_only_undo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'active' AND NEW.status = 'undone'
     AND (to_jsonb(NEW) - 'status' - 'undone_at' - 'undone_by')
       = (to_jsonb(OLD) - 'status' - 'undone_at' - 'undone_by') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'minemap_batches: a batch can only go from active to undone'
    USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER minemap_audit_no_update BEFORE UPDATE ON minemap_audit
  FOR EACH ROW EXECUTE FUNCTION
  minemap_refuse('minemap_audit is append-only: entries cannot be changed');
CREATE TRIGGER minemap_audit_no_delete BEFORE DELETE ON minemap_audit
  FOR EACH ROW EXECUTE FUNCTION
  minemap_refuse('minemap_audit is append-only: entries cannot be deleted');
CREATE TRIGGER minemap_audit_no_truncate BEFORE TRUNCATE ON minemap_audit
  FOR EACH STATEMENT EXECUTE FUNCTION
  minemap_refuse('minemap_audit is append-only: entries cannot be deleted');
CREATE TRIGGER minemap_batches_no_delete BEFORE DELETE ON minemap_batches
  FOR EACH ROW EXECUTE FUNCTION
  minemap_refuse('minemap_batches is permanent: undo a batch instead of deleting it');
CREATE TRIGGER minemap_batches_no_truncate BEFORE TRUNCATE ON minemap_batches
  FOR EACH STATEMENT EXECUTE FUNCTION
  minemap_refuse('minemap_batches is permanent: undo a batch instead of deleting it');
CREATE TRIGGER minemap_batches_only_undo BEFORE UPDATE ON minemap_batches
  FOR EACH ROW EXECUTE FUNCTION minemap_batches_only_undo();
