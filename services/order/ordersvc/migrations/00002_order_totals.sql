-- order_totals keeps, per status, the number of orders and the sum of their
-- totals, maintained by triggers in the transaction of every write to
-- orders: /v1/orders/stats reads five rows instead of scanning every order
-- (a scan grows with the shop; the admin overview asks on every view).
-- +goose Up
CREATE TABLE order_totals (
    status      TEXT PRIMARY KEY,
    count       INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    total_cents INTEGER NOT NULL DEFAULT 0 CHECK (total_cents >= 0)
);
INSERT INTO order_totals (status) VALUES ('pending'), ('paid'), ('shipped'), ('delivered'), ('cancelled');
-- The orders written before this migration.
UPDATE order_totals SET
    count = (SELECT count(*) FROM orders WHERE orders.status = order_totals.status),
    total_cents = (SELECT coalesce(sum(total_cents), 0) FROM orders WHERE orders.status = order_totals.status);

-- +goose StatementBegin
CREATE TRIGGER order_totals_insert AFTER INSERT ON orders BEGIN
    UPDATE order_totals SET count = count + 1, total_cents = total_cents + NEW.total_cents WHERE status = NEW.status;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER order_totals_update AFTER UPDATE OF status, total_cents ON orders BEGIN
    UPDATE order_totals SET count = count - 1, total_cents = total_cents - OLD.total_cents WHERE status = OLD.status;
    UPDATE order_totals SET count = count + 1, total_cents = total_cents + NEW.total_cents WHERE status = NEW.status;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER order_totals_delete AFTER DELETE ON orders BEGIN
    UPDATE order_totals SET count = count - 1, total_cents = total_cents - OLD.total_cents WHERE status = OLD.status;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER order_totals_delete;
DROP TRIGGER order_totals_update;
DROP TRIGGER order_totals_insert;
DROP TABLE order_totals;
