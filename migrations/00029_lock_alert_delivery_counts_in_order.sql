-- +goose Up
-- Alert runs now record digests' outcomes side by side. Each statement on
-- alert_deliveries updates the count rows of the statuses it moved rows
-- from and to, and an UPDATE locks rows in whatever order its plan meets
-- them: two digests marked at once (one moving pending and failed rows to
-- sent, the other pending to failed) could each hold the row the other
-- waits for, and Postgres would abort one as a deadlock. The count rows a
-- statement touches are now locked first, in status order.

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION count_alert_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM 1 FROM alert_delivery_counts
        WHERE status IN (SELECT status FROM old_rows UNION SELECT status FROM new_rows) ORDER BY status FOR UPDATE;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM alert_delivery_counts WHERE status IN (SELECT status FROM new_rows) ORDER BY status FOR UPDATE;
    ELSE
        PERFORM 1 FROM alert_delivery_counts WHERE status IN (SELECT status FROM old_rows) ORDER BY status FOR UPDATE;
    END IF;
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION count_alert_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
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
