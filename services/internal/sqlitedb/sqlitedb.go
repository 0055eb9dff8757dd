// Package sqlitedb opens a service's SQLite database (modernc.org/sqlite,
// pure Go) in WAL mode and applies its embedded migrations with goose.
// Opened with a service's telemetry, every call to the database is a span
// named after its query's summary ("SELECT orders") and is measured in
// db_client_operation_duration_seconds (by database/sql method and query
// summary, with error_type on failures), through XSAM/otelsql.
package sqlitedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/XSAM/otelsql"
	"github.com/pressly/goose/v3"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/acme/bff-gateway/internal/telemetry"
)

// Open opens (creating if needed) the database at path, with WAL journaling,
// a busy timeout, foreign keys and immediate write transactions, and applies
// every migration in migrations (goose SQL files at its root). With tel,
// the database's calls are traced and measured in tel; nil means neither.
func Open(ctx context.Context, path string, migrations fs.FS, tel *telemetry.Telemetry) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	// The migrations run on a handle of their own, not measured: they are
	// the start's business, not the traffic's (goose's first look for its
	// version table fails on a new database, by design).
	if err := migrate(ctx, dsn, path, migrations); err != nil {
		return nil, err
	}
	db, err := open(dsn, tel)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ping %s: %w", path, err)
	}
	return db, nil
}

// migrate applies every migration in migrations to the database of dsn.
func migrate(ctx context.Context, dsn, path string, migrations fs.FS) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", path, err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, db, migrations)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", path, err)
	}
	return nil
}

// OpenDir is Open with the migrations in the directory dir of fsys, such
// as the "migrations" directory of a service's embedded files.
func OpenDir(ctx context.Context, path string, fsys fs.FS, dir string, tel *telemetry.Telemetry) (*sql.DB, error) {
	migrations, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return Open(ctx, path, migrations, tel)
}

// open opens the driver's database, instrumented when tel is not nil: the
// calls otelsql measures go to tel's registry through OpenTelemetry's
// Prometheus exporter, labelled with their query's summary; the row reads,
// connection resets, prepares and connects, too many and too small to say
// anything, are not spans, and neither is a call made outside a trace.
func open(dsn string, tel *telemetry.Telemetry) (*sql.DB, error) {
	if tel == nil {
		return sql.Open("sqlite", dsn)
	}
	exporter, err := otelprom.New(otelprom.WithRegisterer(tel.Registry), otelprom.WithoutTargetInfo(), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("database metrics: %w", err)
	}
	return otelsql.Open("sqlite", dsn,
		otelsql.WithTracerProvider(tel.Tracer),
		otelsql.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))),
		otelsql.WithAttributes(attribute.String("db.system.name", "sqlite")),
		otelsql.WithSpanOptions(otelsql.SpanOptions{
			OmitConnResetSession: true, OmitRows: true, OmitConnPrepare: true, OmitConnectorConnect: true,
			// Only work done for a traced caller is a span: the seeding of
			// a new database and the background passes would otherwise
			// each start thousands of traces of their own.
			SpanFilter: func(ctx context.Context, _ otelsql.Method, _ string, _ []driver.NamedValue) bool {
				return trace.SpanContextFromContext(ctx).IsValid()
			},
		}),
		otelsql.WithSpanNameFormatter(func(_ context.Context, method otelsql.Method, query string) string {
			return summary(method, query)
		}),
		otelsql.WithInstrumentAttributesGetter(func(_ context.Context, method otelsql.Method, query string, _ []driver.NamedValue) []attribute.KeyValue {
			return []attribute.KeyValue{attribute.String("db.query.summary", summary(method, query))}
		}),
	)
}

// summary is the query's summary, or for a call without one (a ping, a
// transaction's begin or commit) the database/sql method.
func summary(method otelsql.Method, query string) string {
	if s := QuerySummary(query); s != "" {
		return s
	}
	return string(method)
}
