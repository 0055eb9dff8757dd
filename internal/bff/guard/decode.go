package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// gqlRequest is one decoded GraphQL request.
type gqlRequest struct {
	query         string
	operationName string
	// variables is the raw variables object; nil when absent or null.
	variables json.RawMessage
	// vars is variables decoded one level, to read list sizes from.
	vars map[string]json.RawMessage
	// extensions are the request's extensions without persistedQuery.
	extensions map[string]json.RawMessage
	// pq is extensions.persistedQuery; nil when absent or null.
	pq *persistedQuery
}

// persistedQuery is the Apollo persisted-query extension.
type persistedQuery struct {
	version int
	hash    string
}

// The fixed messages of malformed requests. None quotes the request, so a
// refusal never echoes what it refuses and never grows with it.
const (
	msgNotJSON          = "the request body is not valid JSON"
	msgNotRequest       = "the request body is not a GraphQL request object with string query and operationName"
	msgEmptyBody        = "the request body is empty"
	msgUnreadableBody   = "the request body could not be read"
	msgBadVariables     = "variables must be a JSON object"
	msgBadExtensions    = "extensions must be a JSON object"
	msgBadPersisted     = "extensions.persistedQuery must be an object with a numeric version and a string sha256Hash"
	msgBadQueryString   = "the URL query string is malformed"
	msgNotBatchElements = "the request body is not a JSON array of GraphQL request objects"
)

// readBody reads the POST body, refusing one over limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *refusal) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, badRequest(msgEmptyBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge(limit)
		}
		return nil, badRequest(msgUnreadableBody)
	}
	return body, nil
}

func tooLarge(limit int64) *refusal {
	return refuse(http.StatusRequestEntityTooLarge, CodeRequestTooLarge,
		"the request is larger than "+strconv.FormatInt(limit, 10)+" bytes",
		map[string]any{"limit": limit})
}

// isBatch reports whether body is a JSON array.
func isBatch(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '['
}

// decodeObject decodes a POST body holding one request object.
func decodeObject(body []byte) (*gqlRequest, *refusal) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest(msgEmptyBody)
	}
	var wire struct {
		Query         string          `json:"query"`
		OperationName string          `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, badRequest(msgNotJSON)
		}
		return nil, badRequest(msgNotRequest)
	}
	return newRequest(wire.Query, wire.OperationName, wire.Variables, wire.Extensions)
}

// decodeBatch splits a POST body holding an array of request objects.
func decodeBatch(body []byte) ([]json.RawMessage, *refusal) {
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, badRequest(msgNotJSON)
		}
		return nil, badRequest(msgNotBatchElements)
	}
	return elems, nil
}

// decodeGET decodes a GET request's URL query parameters.
func decodeGET(r *http.Request, limit int64) (*gqlRequest, url.Values, *refusal) {
	if int64(len(r.URL.RawQuery)) > limit {
		return nil, nil, tooLarge(limit)
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, nil, badRequest(msgBadQueryString)
	}
	var vars, ext json.RawMessage
	if v := values.Get("variables"); v != "" {
		vars = json.RawMessage(v)
		if !json.Valid(vars) {
			return nil, nil, badRequest(msgBadVariables)
		}
	}
	if e := values.Get("extensions"); e != "" {
		ext = json.RawMessage(e)
		if !json.Valid(ext) {
			return nil, nil, badRequest(msgBadExtensions)
		}
	}
	req, rf := newRequest(values.Get("query"), values.Get("operationName"), vars, ext)
	return req, values, rf
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) == 0 || string(b) == "null"
}

// newRequest checks and decodes the parts of a request.
func newRequest(query, operationName string, variables, extensions json.RawMessage) (*gqlRequest, *refusal) {
	req := &gqlRequest{query: query, operationName: operationName}
	if !isNull(variables) {
		if err := json.Unmarshal(variables, &req.vars); err != nil || req.vars == nil {
			return nil, badRequest(msgBadVariables)
		}
		req.variables = variables
	}
	if !isNull(extensions) {
		if err := json.Unmarshal(extensions, &req.extensions); err != nil || req.extensions == nil {
			return nil, badRequest(msgBadExtensions)
		}
		if raw, ok := req.extensions["persistedQuery"]; ok {
			delete(req.extensions, "persistedQuery")
			if !isNull(raw) {
				var pq struct {
					Version    *int   `json:"version"`
					Sha256Hash string `json:"sha256Hash"`
				}
				if err := json.Unmarshal(raw, &pq); err != nil || pq.Version == nil {
					return nil, badRequest(msgBadPersisted)
				}
				req.pq = &persistedQuery{version: *pq.Version, hash: pq.Sha256Hash}
			}
		}
	}
	return req, nil
}

// withQueryString returns a copy of r, with ctx, whose URL carries req
// with query as its full text.
func withQueryString(ctx context.Context, r *http.Request, values url.Values, req *gqlRequest, query string) *http.Request {
	r2 := r.Clone(ctx)
	v := make(url.Values, len(values))
	for k, vs := range values {
		v[k] = vs
	}
	v.Set("query", query)
	for _, k := range []string{"operationName", "variables"} {
		if s := values.Get(k); s != "" {
			v.Set(k, s)
		}
	}
	v.Del("extensions")
	if len(req.extensions) > 0 {
		if b, err := json.Marshal(req.extensions); err == nil {
			v.Set("extensions", string(b))
		}
	}
	r2.URL.RawQuery = v.Encode()
	r2.RequestURI = r2.URL.RequestURI()
	return r2
}
