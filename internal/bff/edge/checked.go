package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
)

// Checked is an operation of a POST body as the guard (internal/bff/guard)
// decoded and checked it: its full query text (a persisted query's
// included), and its variables and extensions as the JSON they were
// (extensions without persistedQuery). The guard passes it on in the
// request's context (WithChecked), and POST runs it from there instead of
// decoding the body a second time, as the guard's re-encoded body: two
// passes of JSON over every request.
type Checked struct {
	Query         string
	OperationName string
	// Variables is the variables object; nil when absent or null.
	Variables json.RawMessage
	// Extensions are the extensions' members; nil when there are none.
	Extensions map[string]json.RawMessage
}

type checkedKey struct{}

// WithChecked returns ctx carrying the checked operation c.
func WithChecked(ctx context.Context, c *Checked) context.Context {
	return context.WithValue(ctx, checkedKey{}, c)
}

// CheckedFrom returns the checked operation ctx carries, if any.
func CheckedFrom(ctx context.Context) (*Checked, bool) {
	c, ok := ctx.Value(checkedKey{}).(*Checked)
	return c, ok
}

// params sets params as decoding the JSON body carrying c sets them
// (json.Decoder with UseNumber, as gqlgen's POST decodes a body).
func (c *Checked) params(params *graphql.RawParams) error {
	params.Query, params.OperationName = c.Query, c.OperationName
	if len(c.Variables) > 0 {
		if err := decodeNumbers(c.Variables, &params.Variables); err != nil {
			return fmt.Errorf("variables: %w", err)
		}
	}
	if len(c.Extensions) > 0 {
		params.Extensions = make(map[string]any, len(c.Extensions))
		for name, raw := range c.Extensions {
			var v any
			if err := decodeNumbers(raw, &v); err != nil {
				return fmt.Errorf("extension %s: %w", name, err)
			}
			params.Extensions[name] = v
		}
	}
	return nil
}

// Body is the JSON body carrying c, as a client would send it.
func (c *Checked) Body() ([]byte, error) {
	return json.Marshal(struct {
		Query         string                     `json:"query"`
		OperationName string                     `json:"operationName,omitempty"`
		Variables     json.RawMessage            `json:"variables,omitempty"`
		Extensions    map[string]json.RawMessage `json:"extensions,omitempty"`
	}{c.Query, c.OperationName, c.Variables, c.Extensions})
}

// decodeNumbers decodes raw into v, numbers as json.Number.
func decodeNumbers(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}
