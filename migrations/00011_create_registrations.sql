-- +goose Up
-- A wizard run: one blueprint applied in one tenant. It lives here, not in a
-- session, so it survives reloads, restarts and an admin who comes back the
-- next day; a lease keeps two replicas from applying the same run at once.
CREATE TABLE registration_runs (
    id               uuid        PRIMARY KEY,
    tenant_id        uuid        NOT NULL,
    tenant_name      text        NOT NULL DEFAULT '',
    blueprint_id     text        NOT NULL CHECK (blueprint_id <> ''),
    display_name     text        NOT NULL CHECK (display_name <> ''),
    unique_name      text        NOT NULL CHECK (unique_name <> ''),
    params           jsonb       NOT NULL DEFAULT '{}',
    features         text[]      NOT NULL DEFAULT '{}',
    secret_months    int         NOT NULL CHECK (secret_months BETWEEN 1 AND 24),
    state            text        NOT NULL DEFAULT 'signin'
                     CHECK (state IN ('signin', 'review', 'applying', 'consent', 'done', 'failed', 'cancelled')),
    preflight        jsonb,
    error            text        NOT NULL DEFAULT '',
    app_object_id    text        NOT NULL DEFAULT '',
    client_id        text        NOT NULL DEFAULT '',
    sp_object_id     text        NOT NULL DEFAULT '',
    secret_key_id    text        NOT NULL DEFAULT '',
    secret_hint      text        NOT NULL DEFAULT '',
    secret_end       timestamptz,
    secret_shown_at  timestamptz,
    consent_state_hash bytea     UNIQUE CHECK (consent_state_hash IS NULL OR octet_length(consent_state_hash) = 32),
    consent_checked_at timestamptz,
    lease_owner      text        NOT NULL DEFAULT '',
    lease_until      timestamptz,
    created_by_oid   uuid,
    created_by_name  text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registration_runs_tenant_idx ON registration_runs (tenant_id, created_at DESC);
COMMENT ON TABLE registration_runs IS 'Registration wizard runs. Never holds a secret value or a token: the secret is shown once and only its key ID and hint are kept.';
COMMENT ON COLUMN registration_runs.consent_state_hash IS 'SHA-256 of the state of the admin-consent link made for this run; the link itself is shown, not stored.';

-- Each Graph write of a run, recorded before the call is made (status
-- running), so a crash between any two steps leaves a record to resume from.
CREATE TABLE registration_steps (
    run_id     uuid        NOT NULL REFERENCES registration_runs (id) ON DELETE CASCADE,
    position   int         NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('application', 'service_principal', 'resource_sp', 'app_role', 'delegated', 'secret', 'verify')),
    key        text        NOT NULL DEFAULT '',
    label      text        NOT NULL CHECK (label <> ''),
    status     text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed', 'needs_consent')),
    attempts   int         NOT NULL DEFAULT 0,
    result     text        NOT NULL DEFAULT '',
    error      text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, position)
);
COMMENT ON TABLE registration_steps IS 'Each Graph write of a wizard run, recorded as running before the call and done (with the object IDs it learned) after; never a secret.';

-- The signed-in admin's delegated Graph token for a run, AES-GCM sealed with
-- the run ID as associated data; deleted when the run ends.
CREATE TABLE registration_tokens (
    run_id     uuid        PRIMARY KEY REFERENCES registration_runs (id) ON DELETE CASCADE,
    sealed     bytea       NOT NULL,
    user_oid   uuid,
    user_name  text        NOT NULL DEFAULT '',
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE registration_tokens IS 'Delegated tokens, sealed (AES-GCM, key from PORTAL_SEAL_KEY, run ID as associated data). Never plaintext.';

-- What the portal registered: one row per application it made or updated,
-- written in the same transaction as the step that learned its IDs.
CREATE TABLE registrations (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id         uuid        NOT NULL,
    unique_name       text        NOT NULL,
    blueprint_id      text        NOT NULL,
    display_name      text        NOT NULL,
    app_object_id     text        NOT NULL,
    client_id         text        NOT NULL,
    sp_object_id      text        NOT NULL DEFAULT '',
    params            jsonb       NOT NULL DEFAULT '{}',
    last_run_id       uuid        REFERENCES registration_runs (id) ON DELETE SET NULL,
    applied_by_name   text        NOT NULL DEFAULT '',
    applied_at        timestamptz NOT NULL DEFAULT now(),
    consent_state     text        NOT NULL DEFAULT 'unknown' CHECK (consent_state IN ('unknown', 'granted', 'partial', 'pending')),
    consent_checked_at timestamptz,
    UNIQUE (tenant_id, unique_name)
);
COMMENT ON TABLE registrations IS 'App registrations the portal made or updated, one per tenant and uniqueName (blueprint), with the consent state as last read back.';

-- +goose Down
DROP TABLE registrations;
DROP TABLE registration_tokens;
DROP TABLE registration_steps;
DROP TABLE registration_runs;
