-- minemap PostGIS store, schema version 2: accounts (issue 6).
-- Users are never deleted (only disabled); sessions and sign-in attempts hold hashes
-- and rate-limit keys only. Account rules live in minemap.auth, not here.

CREATE TABLE minemap_users (
  name text PRIMARY KEY,
  role text NOT NULL,
  password_hash text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL,
  created_by text,
  changed_at timestamptz NOT NULL
);

CREATE TRIGGER minemap_users_no_delete BEFORE DELETE ON minemap_users
  FOR EACH ROW EXECUTE FUNCTION
  minemap_refuse('minemap_users: accounts are disabled, never deleted');
CREATE TRIGGER minemap_users_no_truncate BEFORE TRUNCATE ON minemap_users
  FOR EACH STATEMENT EXECUTE FUNCTION
  minemap_refuse('minemap_users: accounts are disabled, never deleted');

CREATE TABLE minemap_sessions (
  token_hash text PRIMARY KEY,
  name text NOT NULL REFERENCES minemap_users (name),
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX minemap_sessions_name ON minemap_sessions (name);
CREATE INDEX minemap_sessions_expires_at ON minemap_sessions (expires_at);

CREATE TABLE minemap_login_attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  at timestamptz NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('ok', 'bad', 'refused'))
);
CREATE INDEX minemap_login_attempts_name_at ON minemap_login_attempts (name, at);
CREATE INDEX minemap_login_attempts_at ON minemap_login_attempts (at);
