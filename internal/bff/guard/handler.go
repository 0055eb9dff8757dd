package guard

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/acme/bff-gateway/internal/bff/edge"
)

// serve guards one request to the GraphQL endpoint.
func (g *guard) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	switch {
	case r.Method == http.MethodGet && r.Header.Get("Upgrade") == "":
		g.serveGET(w, r, next)
	case r.Method == http.MethodPost && edge.IsJSON(r.Header.Get("Content-Type")):
		g.servePOST(w, r, next)
	default:
		next.ServeHTTP(w, r)
	}
}

func (g *guard) serveGET(w http.ResponseWriter, r *http.Request, next http.Handler) {
	req, values, rf := decodeGET(r, g.cfg.MaxBodyBytes)
	if rf != nil {
		g.write(w, r, rf)
		return
	}
	passed, rf := g.check(r.Context(), req)
	if rf != nil {
		g.write(w, r, rf)
		return
	}
	if passed.measured && passed.operation != ast.Query {
		// GraphQL over HTTP: GET runs queries only.
		w.Header().Set("Allow", http.MethodPost)
		g.write(w, r, refuse(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
			"only queries may be sent with GET; send mutations with POST", nil))
		return
	}
	next.ServeHTTP(w, withQueryString(withCost(r.Context(), passed), r, values, req, passed.query))
}

func (g *guard) servePOST(w http.ResponseWriter, r *http.Request, next http.Handler) {
	body, rf := readBody(w, r, g.cfg.MaxBodyBytes)
	if rf != nil {
		g.write(w, r, rf)
		return
	}
	if isBatch(body) {
		g.serveBatch(w, r, next, body)
		return
	}
	r2, rf := g.prepareObject(r, body)
	if rf != nil {
		g.write(w, r, rf)
		return
	}
	next.ServeHTTP(w, r2)
}

// prepareObject checks one request object and returns the request to pass
// on: r with the checked operation (edge.Checked: the full query) and the
// cost in its context, and a body that says the same.
func (g *guard) prepareObject(r *http.Request, body []byte) (*http.Request, *refusal) {
	req, rf := decodeObject(body)
	if rf != nil {
		return nil, rf
	}
	passed, rf := g.check(r.Context(), req)
	if rf != nil {
		return nil, rf
	}
	checked := &edge.Checked{Query: passed.query, OperationName: req.operationName, Variables: req.variables, Extensions: req.extensions}
	r2 := r.WithContext(withCost(edge.WithChecked(r.Context(), checked), passed))
	// POST runs the checked operation from the context; the body is
	// encoded only for a handler that reads it (its length unknown).
	r2.Body, r2.ContentLength, r2.TransferEncoding = &checkedBody{checked: checked}, -1, nil
	r2.GetBody = func() (io.ReadCloser, error) { return &checkedBody{checked: checked}, nil }
	return r2, nil
}

// checkedBody reads as the JSON body carrying the checked operation,
// encoded at the first read.
type checkedBody struct {
	checked *edge.Checked
	r       *bytes.Reader
}

func (b *checkedBody) Read(p []byte) (int, error) {
	if b.r == nil {
		body, err := b.checked.Body()
		if err != nil {
			return 0, err
		}
		b.r = bytes.NewReader(body)
	}
	return b.r.Read(p)
}

func (*checkedBody) Close() error { return nil }

// withCost returns ctx with the measured operation, if any.
func withCost(ctx context.Context, passed *checked) context.Context {
	if !passed.measured {
		return ctx
	}
	return NewContextWithOperation(ctx, Operation{Name: passed.name, Type: passed.operation, Cost: passed.cost})
}
