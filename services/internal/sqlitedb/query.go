package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// InList returns the placeholders of an IN list of the values, "?,?,…,?",
// and the values as the query's arguments:
//
//	in, args := sqlitedb.InList(ids)
//	rows, err := db.QueryContext(ctx, `SELECT … WHERE id IN (`+in+`)`, args...)
//
// No values give "" and no arguments: SQLite takes IN () as matching
// nothing.
func InList[T any](values []T) (string, []any) {
	if len(values) == 0 {
		return "", nil
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return "?" + strings.Repeat(",?", len(values)-1), args
}

// ParseTime parses a timestamp stored as RFC 3339 text, with or without
// fractional seconds, and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// SeedIfEmpty calls insert in one transaction when table has no rows yet,
// commits, and reports whether it did. table must be a name from the code,
// never from input. Failures of the transaction itself are wrapped as
// "seed <table>: …"; insert's errors are returned as they are, and roll
// the transaction back.
func SeedIfEmpty(ctx context.Context, db *sql.DB, table string, insert func(tx *sql.Tx) error) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("seed %s: %w", table, err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone
	var existing int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&existing); err != nil {
		return false, fmt.Errorf("seed %s: %w", table, err)
	}
	if existing > 0 {
		return false, nil
	}
	if err := insert(tx); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("seed %s: %w", table, err)
	}
	return true, nil
}
