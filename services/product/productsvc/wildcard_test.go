package productsvc_test

import (
	"database/sql"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	_ "modernc.org/sqlite" // the driver the service uses

	"github.com/acme/bff-gateway/internal/contract"
)

// TestSearchMatchesWildcardsLiterally adds products whose names hold LIKE's
// special characters straight into the database, and checks that a search
// matches those characters literally.
func TestSearchMatchesWildcardsLiterally(t *testing.T) {
	e := newEnv(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.stack.DataDir, "products.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	extra := []struct{ id, sku, name string }{
		{"prd_wild1", "TST-0001", "100% Cotton_Tee"},
		{"prd_wild2", "TST-0002", "1000 Cotton Tee"},
		{"prd_wild3", "TST-0003", `Back\Slash Mug`},
	}
	for _, p := range extra {
		if _, err := db.Exec(`INSERT INTO products (id, sku, name, description, category, price_cents, currency, image_url, stock, featured, created_at)
			VALUES (?, ?, ?, 'test', 'Test', 100, 'USD', 'https://img.example.com/x.jpg', 1, 0, '2025-01-01T00:00:00Z')`,
			p.id, p.sku, p.name); err != nil {
			t.Fatalf("insert %s: %v", p.id, err)
		}
	}

	tests := []struct {
		search string
		want   []string
	}{
		{"%", []string{"prd_wild1"}},
		{"0%", []string{"prd_wild1"}},
		{"n_t", []string{"prd_wild1"}},
		{"_tee", []string{"prd_wild1"}},
		{`k\s`, []string{"prd_wild3"}},
		{`\`, []string{"prd_wild3"}},
		{"cotton tee", []string{"prd_wild2"}},
		{"COTTON", []string{"prd_wild1", "prd_wild2"}},
		{"tst-000", []string{"prd_wild1", "prd_wild2", "prd_wild3"}},
	}
	for _, tc := range tests {
		t.Run(tc.search, func(t *testing.T) {
			got := get[contract.ProductPage](t, e, "/v1/products?search="+url.QueryEscape(tc.search), "")
			if ids := productIDs(got.Products); !slices.Equal(ids, tc.want) || got.TotalCount != len(tc.want) {
				t.Errorf("search %q: %v (total %d), want %v", tc.search, ids, got.TotalCount, tc.want)
			}
		})
	}
}
