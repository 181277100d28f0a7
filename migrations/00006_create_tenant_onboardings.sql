-- +goose Up
CREATE TABLE tenant_onboardings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state_hash      bytea       NOT NULL UNIQUE CHECK (octet_length(state_hash) = 32),
    label           text        NOT NULL CHECK (label <> ''),
    expected_tenant text        NOT NULL DEFAULT '',
    created_by_oid  uuid,
    created_by_name text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    completed_at    timestamptz,
    outcome         text        CHECK (outcome IN ('connected', 'declined', 'failed')),
    outcome_detail  text        NOT NULL DEFAULT '',
    tenant_id       bigint      REFERENCES tenants (id),
    CHECK ((completed_at IS NULL) = (outcome IS NULL))
);
COMMENT ON TABLE tenant_onboardings IS 'Admin consent links sent to customers. Only a SHA-256 of the link''s state is kept: the link itself is shown once. A link completes at most once.';
COMMENT ON COLUMN tenant_onboardings.expected_tenant IS 'Tenant ID or domain the consultant expects; the consenting tenant must match it.';

-- +goose Down
DROP TABLE tenant_onboardings;
