package gqlguard

import (
	"net/http"
)

// serve guards one request to the GraphQL endpoint.
func (g *guard) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	switch {
	case r.Method == http.MethodGet && r.Header.Get("Upgrade") == "":
		g.serveGET(w, r, next)
	case r.Method == http.MethodPost && isJSON(r.Header.Get("Content-Type")):
		g.servePOST(w, r, next)
	default:
		next.ServeHTTP(w, r)
	}
}

func (g *guard) serveGET(w http.ResponseWriter, r *http.Request, next http.Handler) {
	req, values, rf := decodeGET(r, g.cfg.MaxBodyBytes)
	if rf != nil {
		rf.write(w, r)
		return
	}
	ok, rf := g.check(req)
	if rf != nil {
		rf.write(w, r)
		return
	}
	r2 := withQueryString(r, values, req, ok.query)
	next.ServeHTTP(w, withCost(r2, ok))
}

func (g *guard) servePOST(w http.ResponseWriter, r *http.Request, next http.Handler) {
	body, rf := readBody(w, r, g.cfg.MaxBodyBytes)
	if rf != nil {
		rf.write(w, r)
		return
	}
	if isBatch(body) {
		g.serveBatch(w, r, next, body)
		return
	}
	r2, rf := g.prepareObject(r, body)
	if rf != nil {
		rf.write(w, r)
		return
	}
	next.ServeHTTP(w, r2)
}

// prepareObject checks one request object and returns the request to pass
// on: a copy of r whose body holds the full query, with the cost in its
// context.
func (g *guard) prepareObject(r *http.Request, body []byte) (*http.Request, *refusal) {
	req, rf := decodeObject(body)
	if rf != nil {
		return nil, rf
	}
	ok, rf := g.check(req)
	if rf != nil {
		return nil, rf
	}
	return withCost(withBody(r, forwardBody(req, ok.query)), ok), nil
}

// withCost puts the measured cost, if any, in r's context.
func withCost(r *http.Request, ok *checked) *http.Request {
	if !ok.measured {
		return r
	}
	return r.WithContext(NewContextWithCost(r.Context(), ok.cost))
}
