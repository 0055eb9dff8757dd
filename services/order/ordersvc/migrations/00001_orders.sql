-- +goose Up
CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
    currency    TEXT NOT NULL,
    -- created_at is fixed-width UTC ("2006-01-02T15:04:05.000000Z"), so that
    -- text order is time order for the keyset pagination.
    created_at  TEXT NOT NULL
);
CREATE INDEX orders_by_created ON orders (created_at DESC, id DESC);
CREATE INDEX orders_by_user_created ON orders (user_id, created_at DESC, id DESC);

CREATE TABLE order_items (
    order_id         TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line             INTEGER NOT NULL,
    product_id       TEXT NOT NULL,
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, line)
);

-- idempotency_keys remembers each POST /v1/orders per caller and key.
CREATE TABLE idempotency_keys (
    subject      TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (subject, key)
);
CREATE INDEX idempotency_keys_by_order ON idempotency_keys (order_id);

-- pending_releases are stock releases still owed to the product service:
-- written before a reservation is asked for (restock = 0) or with a
-- cancellation (restock = 1), deleted once the order is written or the
-- release is done. items is a JSON array of {"product_id","quantity"}.
-- releasing is set while the reconciler releases the row, so that an order
-- can no longer be written on that reservation.
CREATE TABLE pending_releases (
    order_id   TEXT PRIMARY KEY,
    items      TEXT NOT NULL,
    restock    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    releasing  INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE pending_releases;
DROP TABLE idempotency_keys;
DROP TABLE order_items;
DROP TABLE orders;
