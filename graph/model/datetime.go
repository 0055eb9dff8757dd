// Package model holds the Go types behind the GraphQL schemas of both BFFs:
// the shared scalars, Money and enums (generated from graph/schema), and
// hand-written models that keep the foreign keys the loaders need (an
// Order keeps its UserID, an OrderItem its ProductID).
package model

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalDateTime writes a time as an RFC 3339 string in UTC. Into an
// answer's buffer it is formatted in place: nothing of RFC 3339 needs
// escaping in a JSON string (digits, - : T Z), so quotes around it are
// the quoted string, without the two strings a time of every order cost.
func MarshalDateTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if b, ok := w.(*bytes.Buffer); ok {
			b.WriteByte('"')
			b.Write(t.UTC().AppendFormat(b.AvailableBuffer(), time.RFC3339))
			b.WriteByte('"')
			return
		}
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339)))
	})
}

// UnmarshalDateTime reads an RFC 3339 string.
func UnmarshalDateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("DateTime must be an RFC 3339 string")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("DateTime must be an RFC 3339 string")
	}
	return t.UTC(), nil
}
