-- +goose Up
-- A reservation is the stock taken for one order, keyed by the order id.
-- A released reservation with no items recorded first is a tombstone: it
-- makes a late reserve under that id a conflict.
CREATE TABLE reservations (
    id         TEXT PRIMARY KEY,
    status     TEXT NOT NULL CHECK (status IN ('held', 'released')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE reservation_items (
    reservation_id   TEXT NOT NULL REFERENCES reservations (id),
    position         INTEGER NOT NULL,
    product_id       TEXT NOT NULL REFERENCES products (id),
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    PRIMARY KEY (reservation_id, product_id)
);

-- +goose Down
DROP TABLE reservation_items;
DROP TABLE reservations;
