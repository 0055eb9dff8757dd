-- +goose Up
CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    sku         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    category    TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    currency    TEXT NOT NULL,
    image_url   TEXT NOT NULL,
    stock       INTEGER NOT NULL CHECK (stock >= 0),
    featured    INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0, 1)),
    created_at  TEXT NOT NULL
);

-- The listing is ordered by (name, id); the featured list too.
CREATE INDEX products_name_id ON products (name, id);
CREATE INDEX products_category ON products (category COLLATE NOCASE, name, id);
CREATE INDEX products_featured ON products (featured, name, id);

-- +goose Down
DROP TABLE products;
