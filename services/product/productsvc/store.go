package productsvc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
)

// store keeps the catalogue and the stock reservations in SQLite.
type store struct {
	db  *sql.DB
	now func() time.Time
}

const productColumns = `id, sku, name, description, category, price_cents, currency, image_url, stock, featured, created_at`

func scanProduct(row interface{ Scan(...any) error }) (contract.Product, error) {
	var p contract.Product
	var created string
	if err := row.Scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.Category, &p.PriceCents,
		&p.Currency, &p.ImageURL, &p.Stock, &p.Featured, &created); err != nil {
		return contract.Product{}, err
	}
	t, err := sqlitedb.ParseTime(created)
	if err != nil {
		return contract.Product{}, fmt.Errorf("parse created_at of %s: %w", p.ID, err)
	}
	p.CreatedAt = t
	return p, nil
}

// queryer is what product reads run on: the database or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func queryProducts(ctx context.Context, q queryer, query string, args ...any) ([]contract.Product, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []contract.Product{}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// byID returns one product, or NotFound.
func (s *store) byID(ctx context.Context, id string) (contract.Product, error) {
	p, err := scanProduct(s.db.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return contract.Product{}, apperr.New(apperr.NotFound, "product not found")
	}
	if err != nil {
		return contract.Product{}, dbError("read product", err)
	}
	return p, nil
}

// byIDs returns the products found, keyed by id.
func (s *store) byIDs(ctx context.Context, ids []string) (map[string]contract.Product, error) {
	in, args := sqlitedb.InList(ids)
	q := `SELECT ` + productColumns + ` FROM products WHERE id IN (` + in + `)`
	list, err := queryProducts(ctx, s.db, q, args...)
	if err != nil {
		return nil, dbError("read products", err)
	}
	found := make(map[string]contract.Product, len(list))
	for _, p := range list {
		found[p.ID] = p
	}
	return found, nil
}

// listQuery selects a page of the catalogue.
type listQuery struct {
	// Search matches a substring of the name or the SKU, ignoring case.
	Search string
	// Category matches the category exactly, ignoring case.
	Category string
	// After is the position to continue after, or nil for the first page.
	After *contract.Cursor
	// Limit is the page size.
	Limit int
}

// list returns one page of the products matching q ordered by name then
// id, the cursor of the next page (nil on the last) and the number of all
// the matches. Both reads see the same snapshot.
func (s *store) list(ctx context.Context, q listQuery) ([]contract.Product, bool, int, error) {
	var where []string
	var args []any
	if q.Search != "" {
		pattern := likePattern(q.Search)
		where = append(where, `(name LIKE ? ESCAPE '\' OR sku LIKE ? ESCAPE '\')`)
		args = append(args, pattern, pattern)
	}
	if q.Category != "" {
		where = append(where, `category = ? COLLATE NOCASE`)
		args = append(args, q.Category)
	}
	filter := ""
	if len(where) > 0 {
		filter = ` WHERE ` + strings.Join(where, ` AND `)
	}

	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, false, 0, dbError("list products", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone

	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM products`+filter, args...).Scan(&total); err != nil {
		return nil, false, 0, dbError("count products", err)
	}
	pageWhere, pageArgs := where, args
	if q.After != nil {
		pageWhere = append(append([]string{}, where...), `(name > ? OR (name = ? AND id > ?))`)
		pageArgs = append(append([]any{}, args...), q.After.Key, q.After.Key, q.After.ID)
	}
	query := `SELECT ` + productColumns + ` FROM products`
	if len(pageWhere) > 0 {
		query += ` WHERE ` + strings.Join(pageWhere, ` AND `)
	}
	query += ` ORDER BY name, id LIMIT ?`
	list, err := queryProducts(ctx, tx, query, append(pageArgs, q.Limit+1)...)
	if err != nil {
		return nil, false, 0, dbError("list products", err)
	}
	more := len(list) > q.Limit
	if more {
		list = list[:q.Limit]
	}
	return list, more, total, nil
}

// featured returns up to limit featured products ordered by name then id.
func (s *store) featured(ctx context.Context, limit int) ([]contract.Product, error) {
	list, err := queryProducts(ctx, s.db,
		`SELECT `+productColumns+` FROM products WHERE featured = 1 ORDER BY name, id LIMIT ?`, limit)
	if err != nil {
		return nil, dbError("list featured products", err)
	}
	return list, nil
}

// count returns the number of products.
func (s *store) count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM products`).Scan(&n); err != nil {
		return 0, dbError("count products", err)
	}
	return n, nil
}

// seedIfEmpty inserts the seed products in one transaction when the table
// is empty.
func (s *store) seedIfEmpty(ctx context.Context, n int, anchor time.Time) (bool, error) {
	return sqlitedb.SeedIfEmpty(ctx, s.db, "products", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO products (`+productColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("seed products: %w", err)
		}
		defer stmt.Close()
		for _, p := range seed.Products(n, anchor) {
			if _, err := stmt.ExecContext(ctx, p.ID, p.SKU, p.Name, p.Description, p.Category, p.PriceCents,
				p.Currency, p.ImageURL, p.Stock, p.Featured, p.CreatedAt.Format(time.RFC3339)); err != nil {
				return fmt.Errorf("seed product %s: %w", p.ID, err)
			}
		}
		return nil
	})
}

// likeEscaper escapes LIKE's wildcards and its escape character, so that
// they match themselves.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// likePattern returns a LIKE pattern (with ESCAPE '\') matching s anywhere.
// SQLite's LIKE ignores the case of ASCII letters.
func likePattern(s string) string { return "%" + likeEscaper.Replace(s) + "%" }

// dbError wraps a database failure with op (sqlitedb.Error: a busy
// database is Unavailable).
func dbError(op string, err error) error { return sqlitedb.Error(op, err) }
