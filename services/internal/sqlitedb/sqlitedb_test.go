package sqlitedb_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
)

// openTest opens a database in a temporary directory with one table,
// items (id TEXT PRIMARY KEY).
func openTest(t *testing.T) *sql.DB {
	t.Helper()
	return openTestWith(t, nil)
}

// openTestWith is openTest with the database traced and measured in tel.
func openTestWith(t *testing.T, tel *telemetry.Telemetry) *sql.DB {
	t.Helper()
	migrations := fstest.MapFS{
		"00001_items.sql": {Data: []byte("-- +goose Up\nCREATE TABLE items (id TEXT PRIMARY KEY);\n\n-- +goose Down\nDROP TABLE items;\n")},
	}
	db, err := sqlitedb.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), migrations, tel)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenDirAppliesTheDirectorysMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/00001_items.sql": {Data: []byte("-- +goose Up\nCREATE TABLE items (id TEXT PRIMARY KEY);\n")},
		"other/00001_nope.sql":       {Data: []byte("-- +goose Up\nCREATE TABLE nope (id TEXT);\n")},
	}
	db, err := sqlitedb.OpenDir(t.Context(), filepath.Join(t.TempDir(), "sub", "test.db"), fsys, "migrations", nil)
	if err != nil {
		t.Fatalf("OpenDir: %v", err)
	}
	defer db.Close()
	got := itemIDs(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('items', 'nope')`)
	if !slices.Equal(got, []string{"items"}) {
		t.Errorf("tables %v, want [items]", got)
	}
	if _, err := sqlitedb.OpenDir(t.Context(), filepath.Join(t.TempDir(), "x.db"), fsys, "../migrations", nil); err == nil ||
		!strings.HasPrefix(err.Error(), "migrations: ") {
		t.Errorf("OpenDir of an invalid directory: err %v, want a migrations error", err)
	}
}

func itemIDs(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatalf("query %s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("scan: %v", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return out
}

func TestInList(t *testing.T) {
	tests := []struct {
		values []string
		want   string
	}{
		{nil, ""},
		{[]string{"a"}, "?"},
		{[]string{"a", "b", "c"}, "?,?,?"},
	}
	for _, tt := range tests {
		in, args := sqlitedb.InList(tt.values)
		if in != tt.want || len(args) != len(tt.values) {
			t.Errorf("InList(%q) = %q, %v; want %q and %d args", tt.values, in, args, tt.want, len(tt.values))
		}
		for i, a := range args {
			if a != tt.values[i] {
				t.Errorf("InList(%q) arg %d = %v, want %q", tt.values, i, a, tt.values[i])
			}
		}
	}
	if _, args := sqlitedb.InList([]int{4, 2}); args[0] != 4 || args[1] != 2 {
		t.Errorf("InList of ints: args %v, want [4 2]", args)
	}
}

func TestInListQueries(t *testing.T) {
	db := openTest(t)
	for _, id := range []string{"a", "b", "c", "d"} {
		if _, err := db.ExecContext(t.Context(), `INSERT INTO items (id) VALUES (?)`, id); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	for _, want := range [][]string{{}, {"c"}, {"a", "b", "d"}} {
		in, args := sqlitedb.InList(append(slices.Clone(want), "missing"))
		got := itemIDs(t, db, `SELECT id FROM items WHERE id IN (`+in+`) ORDER BY id`, args...)
		if !slices.Equal(got, want) {
			t.Errorf("IN (%s) %v: got %v, want %v", in, args, got, want)
		}
	}
	in, args := sqlitedb.InList([]string(nil))
	if got := itemIDs(t, db, `SELECT id FROM items WHERE id IN (`+in+`)`, args...); len(got) != 0 {
		t.Errorf("IN (): got %v, want nothing", got)
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 3, 5, 14, 7, 9, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-03-05T14:07:09Z", want},
		{"2024-03-05T14:07:09.123456Z", want.Add(123456 * time.Microsecond)},
		{"2024-03-05T16:07:09+02:00", want},
		{want.Format(time.RFC3339), want},
		{want.Format("2006-01-02T15:04:05.000000Z"), want},
	}
	for _, tt := range tests {
		got, err := sqlitedb.ParseTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v in UTC", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "2024-03-05", "2024-03-05 14:07:09Z", "yesterday"} {
		if got, err := sqlitedb.ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestSeedIfEmpty(t *testing.T) {
	db := openTest(t)
	insert := func(ids ...string) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			for _, id := range ids {
				if _, err := tx.ExecContext(t.Context(), `INSERT INTO items (id) VALUES (?)`, id); err != nil {
					return err
				}
			}
			return nil
		}
	}

	// A failing insert rolls back what it wrote and returns its error as is.
	boom := errors.New("boom")
	seeded, err := sqlitedb.SeedIfEmpty(t.Context(), db, "items", func(tx *sql.Tx) error {
		if err := insert("x")(tx); err != nil {
			return err
		}
		return boom
	})
	if seeded || err != boom { //nolint:errorlint // SeedIfEmpty returns insert's error as is (its documented contract): errors.Is would let a wrapped one pass
		t.Fatalf("failing insert: seeded %v, err %v; want false and boom", seeded, err)
	}
	if got := itemIDs(t, db, `SELECT id FROM items`); len(got) != 0 {
		t.Fatalf("after a failed seed the table holds %v, want nothing", got)
	}

	// An empty table is seeded.
	seeded, err = sqlitedb.SeedIfEmpty(t.Context(), db, "items", insert("a", "b"))
	if !seeded || err != nil {
		t.Fatalf("first seed: seeded %v, err %v; want true and nil", seeded, err)
	}
	// A table with rows is left alone, without calling insert.
	seeded, err = sqlitedb.SeedIfEmpty(t.Context(), db, "items", func(*sql.Tx) error {
		t.Error("insert called on a table with rows")
		return nil
	})
	if seeded || err != nil {
		t.Fatalf("second seed: seeded %v, err %v; want false and nil", seeded, err)
	}
	if got := itemIDs(t, db, `SELECT id FROM items ORDER BY id`); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("table holds %v, want [a b]", got)
	}

	// Failures of the transaction itself name the table.
	_, err = sqlitedb.SeedIfEmpty(t.Context(), db, "nosuchtable", insert("z"))
	if err == nil || !strings.HasPrefix(err.Error(), "seed nosuchtable: ") {
		t.Errorf("unknown table: err %v, want it prefixed seed nosuchtable:", err)
	}
}

func TestQuerySummary(t *testing.T) {
	t.Parallel()
	for query, want := range map[string]string{
		"":        "",
		"  \n\t ": "",
		"SELECT id, email FROM users WHERE id = ?":        "SELECT users",
		"select count(*) from orders":                     "SELECT orders",
		"SELECT a FROM (SELECT b FROM t)":                 "SELECT",
		"SELECT 1":                                        "SELECT",
		`SELECT x FROM "order_items" WHERE 1`:             "SELECT order_items",
		"INSERT INTO orders (id) VALUES (?)":              "INSERT orders",
		"insert into t(a) values (1)":                     "INSERT t",
		"REPLACE INTO keys VALUES (?)":                    "REPLACE keys",
		"UPDATE products SET stock = ?":                   "UPDATE products",
		"DELETE FROM pending_releases WHERE order_id = ?": "DELETE pending_releases",
		"WITH x AS (SELECT 1) SELECT * FROM x":            "WITH",
		"PRAGMA journal_mode":                             "PRAGMA",
		"BEGIN IMMEDIATE":                                 "BEGIN",
		"VACUUM":                                          "OTHER",
		"DROP TABLE users":                                "OTHER",
		"SELECT a FROM " + strings.Repeat("t", 100):       "SELECT " + strings.Repeat("t", 64),
		"SELECT a FROM users;DROP":                        "SELECT users",
		"SELECT a FROM":                                   "SELECT",
	} {
		if got := sqlitedb.QuerySummary(query); got != want {
			t.Errorf("QuerySummary(%q) = %q, want %q", query, got, want)
		}
	}
}

// TestOpenMeasuresQueriesNotMigrations opens a new database with
// telemetry: the migrations leave no series (nor the failed look for
// goose's version table a new database gives), and a query is measured
// under its summary.
func TestOpenMeasuresQueriesNotMigrations(t *testing.T) {
	t.Parallel()
	tel := telemetry.NewNoop("test")
	db := openTestWith(t, tel)
	// Opening pings the database (a call without a query, summarised by
	// its method); nothing else.
	if before := dbSeries(t, tel); len(before) > 1 || (len(before) == 1 && before[0] != "sql.conn.ping") {
		t.Errorf("series after opening, before any query: %q", before)
	}
	if _, err := db.ExecContext(t.Context(), "INSERT INTO items (id) VALUES (?)", "a"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM items").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count: %d, %v", n, err)
	}
	after := dbSeries(t, tel)
	for _, want := range []string{"INSERT items", "SELECT items"} {
		if !slices.Contains(after, want) {
			t.Errorf("no db_client_operation_duration_seconds series with db_query_summary %q: %v", want, after)
		}
	}
	for _, s := range after {
		if strings.Contains(s, "error") {
			t.Errorf("an error series: %v", after)
		}
	}
}

// dbSeries returns the db_query_summary (and error_type, if any) of each
// db_client_operation_duration_seconds series of tel.
func dbSeries(t *testing.T, tel *telemetry.Telemetry) []string {
	t.Helper()
	families, err := tel.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if f.GetName() != "db_client_operation_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			summary, errType := "", ""
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "db_query_summary":
					summary = l.GetValue()
				case "error_type":
					errType = l.GetValue()
				}
			}
			if errType != "" {
				summary += " error " + errType
			}
			out = append(out, summary)
		}
	}
	return out
}

// TestOpenTracesOnlyCallsInATrace: a query made for a traced caller is a
// child span named after its summary; one made outside any trace (the
// seeding, the background passes) is no span at all.
func TestOpenTracesOnlyCallsInATrace(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tel := telemetry.NewNoop("test")
	tel.Tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	db := openTestWith(t, tel)

	if _, err := db.ExecContext(t.Context(), "INSERT INTO items (id) VALUES (?)", "untraced"); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans of calls outside a trace, want none", n)
	}

	ctx, parent := tel.Tracer.Tracer("test").Start(t.Context(), "GET /v1/items")
	if _, err := db.ExecContext(ctx, "INSERT INTO items (id) VALUES (?)", "traced"); err != nil {
		t.Fatal(err)
	}
	parent.End()
	var names []string
	for _, s := range rec.Ended() {
		if s.Name() == "GET /v1/items" {
			continue
		}
		names = append(names, s.Name())
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %q is not the caller's child", s.Name())
		}
	}
	if !slices.Equal(names, []string{"INSERT items"}) {
		t.Errorf("spans of a traced insert: %q, want [INSERT items]", names)
	}
}

// codedErr is an error of the SQLite driver with a result code.
type codedErr int

func (e codedErr) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e codedErr) Code() int     { return int(e) }

func TestErrorMakesABusyDatabaseUnavailable(t *testing.T) {
	for code, want := range map[int]bool{5: true, 6: true, 5 | 2<<8: true, 19: false, 1: false} {
		err := sqlitedb.Error("read", fmt.Errorf("query: %w", codedErr(code)))
		if got := apperr.Is(err, apperr.Unavailable); got != want {
			t.Errorf("code %d: Unavailable %v, want %v (%v)", code, got, want, err)
		}
		if !errors.Is(err, codedErr(code)) {
			t.Errorf("code %d: the cause is lost: %v", code, err)
		}
	}
	if err := sqlitedb.Error("write", errors.New("disk full")); apperr.Is(err, apperr.Unavailable) || err.Error() != "write: disk full" {
		t.Errorf("another error: %v; want it wrapped with the operation", err)
	}
}
