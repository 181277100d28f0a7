-- +goose Up
CREATE TABLE audit_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor_oid    uuid,
    actor_name   text        NOT NULL DEFAULT '',
    action       text        NOT NULL CHECK (action <> ''),
    outcome      text        NOT NULL DEFAULT 'success' CHECK (outcome IN ('success', 'failure', 'denied')),
    tenant_id    uuid,
    target       text        NOT NULL DEFAULT '',
    details      jsonb       NOT NULL DEFAULT '{}',
    request_id   text        NOT NULL DEFAULT '',
    remote_addr  text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at DESC, id DESC);
CREATE INDEX audit_events_action_idx ON audit_events (action, occurred_at DESC);
COMMENT ON TABLE audit_events IS 'Append-only record of every change the portal made and every sign-in, with who did it. Never contains tokens or secret values.';
COMMENT ON COLUMN audit_events.actor_oid IS 'Entra object ID of the person (null for the portal itself); a snapshot, not a foreign key, so the trail outlives users.';

-- The trail must not be rewritten, even by the portal's own database role.
-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
