-- +goose Up
-- /metrics reports deliveries by status on every scrape; alert_deliveries
-- keeps every delivery ever sent, so counting it grows without end. These
-- three rows are kept by statement triggers in the changing transaction
-- (inserts, updates, and deletes cascading from credentials) and rebuilt at
-- start-up.
CREATE TABLE alert_delivery_counts (
    status     text   PRIMARY KEY CHECK (status IN ('pending', 'sent', 'failed')),
    deliveries bigint NOT NULL DEFAULT 0
);
INSERT INTO alert_delivery_counts (status, deliveries)
SELECT s, (SELECT count(*) FROM alert_deliveries WHERE status = s) FROM unnest(ARRAY['pending', 'sent', 'failed']) AS s;
COMMENT ON TABLE alert_delivery_counts IS 'Derived from alert_deliveries by triggers: deliveries by status, for /metrics.';

-- +goose StatementBegin
CREATE FUNCTION count_alert_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE alert_delivery_counts c SET deliveries = c.deliveries - o.n
        FROM (SELECT status, count(*) AS n FROM old_rows GROUP BY status) o WHERE c.status = o.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE alert_delivery_counts c SET deliveries = c.deliveries + o.n
        FROM (SELECT status, count(*) AS n FROM new_rows GROUP BY status) o WHERE c.status = o.status;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER alert_delivery_counts_insert AFTER INSERT ON alert_deliveries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_alert_deliveries();
CREATE TRIGGER alert_delivery_counts_update AFTER UPDATE ON alert_deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_alert_deliveries();
CREATE TRIGGER alert_delivery_counts_delete AFTER DELETE ON alert_deliveries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_alert_deliveries();

-- +goose Down
DROP TRIGGER alert_delivery_counts_delete ON alert_deliveries;
DROP TRIGGER alert_delivery_counts_update ON alert_deliveries;
DROP TRIGGER alert_delivery_counts_insert ON alert_deliveries;
DROP FUNCTION count_alert_deliveries();
DROP TABLE alert_delivery_counts;
