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

// summaryVerbs are the statements QuerySummary names; any other is OTHER.
var summaryVerbs = map[string]string{
	"SELECT": "FROM", "DELETE": "FROM", "INSERT": "INTO", "REPLACE": "INTO",
	"UPDATE": "", "WITH": "", "PRAGMA": "", "BEGIN": "", "COMMIT": "", "ROLLBACK": "",
}

// QuerySummary returns the low-cardinality summary of a query, as
// OpenTelemetry's db.query.summary: its statement and first table
// ("SELECT orders", "INSERT order_items", "UPDATE products"), or the
// statement alone, "" for no query. A statement outside a known few is
// OTHER, and a table name is an identifier of at most 64 characters, so
// the set of summaries stays the size of the code's queries.
func QuerySummary(query string) string {
	words := strings.Fields(query)
	if len(words) == 0 {
		return ""
	}
	verb := strings.ToUpper(words[0])
	before, known := summaryVerbs[verb]
	if !known {
		return "OTHER"
	}
	table := ""
	switch {
	case verb == "UPDATE" && len(words) > 1:
		table = words[1]
	case before != "":
		for i, w := range words[:len(words)-1] {
			if strings.EqualFold(w, before) {
				table = words[i+1]
				break
			}
		}
	}
	if table = identifier(table); table == "" {
		return verb
	}
	return verb + " " + table
}

// identifier returns the leading SQL identifier of s (letters, digits,
// underscores; quotes dropped), cut at 64 characters.
func identifier(s string) string {
	s = strings.Trim(s, "\"`[]")
	end := 0
	for end < len(s) && end < 64 {
		c := s[end]
		if c != '_' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			break
		}
		end++
	}
	return s[:end]
}
