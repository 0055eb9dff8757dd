package edge

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/acme/bff-gateway/internal/bufpool"
)

// POST is gqlgen's POST transport (transport.POST: the same requests, the
// same statuses) except for how it writes the answer: gqlgen passes the
// whole response to json.Marshal, which re-reads and copies the data the
// executor has just written as compact JSON (a RawMessage is compacted
// and HTML-escaped), 5 to 10 % of a BFF's CPU on a long list. POST writes
// the executor's data as it is, between the errors and the extensions,
// which json.Marshal still encodes, and then releases the data's buffer
// (bufpool.PutBytes) for the next answer. The answer is the same JSON; only
// <, > and & inside strings are no longer written as \u003c, \u003e and
// \u0026, which no JSON reader needs (answers carry a JSON media type and
// nosniff, never HTML).
type POST struct{}

var _ graphql.Transport = POST{}

// Supports is transport.POST's: a POST of application/json that is not a
// WebSocket upgrade.
func (POST) Supports(r *http.Request) bool { return transport.POST{}.Supports(r) }

// Do runs the operation the body holds and writes its answer. Answer's
// writer has set the Accept header to the one media type the response
// has, and sets the Content-Type and maps the statuses when the status is
// written.
func (POST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	graphQLResponse := r.Header.Get("Accept") == GraphQLResponseJSON
	contentType := JSON
	if graphQLResponse {
		contentType = GraphQLResponseJSON
	}
	w.Header().Set("Content-Type", contentType)
	start := graphql.Now()
	params := &graphql.RawParams{}
	if err := decodeParams(r, params); err != nil {
		// The guard decoded the body before (and holds it in memory):
		// only a bug gets here. Unlike gqlgen, the body is not echoed.
		w.WriteHeader(http.StatusBadRequest)
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("json request body could not be decoded: %v", err)}))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		w.WriteHeader(documentErrorStatus(opErr, graphQLResponse))
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	writeResponse(w, resp)
	if resp != nil {
		// Written: the buffer the generated Exec wrote the data into
		// (bufpool.Get) serves the next answer. Nothing holds the
		// response any more.
		bufpool.PutBytes(resp.Data)
	}
}

// decodeParams sets params from the operation the guard checked (Checked,
// in r's context), or else from the JSON body.
func decodeParams(r *http.Request, params *graphql.RawParams) error {
	if c, ok := CheckedFrom(r.Context()); ok {
		return c.params(params)
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	return dec.Decode(params)
}

// documentErrorStatus is gqlgen's status for a document that does not
// parse or validate: 422 for application/json (which Answer's writer
// turns into 200) and 400 for application/graphql-response+json; 200 for
// anything else.
func documentErrorStatus(errs gqlerror.List, graphQLResponse bool) int {
	switch {
	case errcode.GetErrorKind(errs) != errcode.KindProtocol:
		return http.StatusOK
	case graphQLResponse:
		return http.StatusBadRequest
	default:
		return http.StatusUnprocessableEntity
	}
}

// writeResponse writes resp as json.Marshal would, except that resp.Data
// is written as it is. A response with an incremental
// delivery's label, path or hasNext, which the BFFs never give (they
// refuse @defer), goes through json.Marshal whole.
func writeResponse(w io.Writer, resp *graphql.Response) {
	if resp == nil || resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		b, err := json.Marshal(resp)
		if err != nil {
			panic(fmt.Errorf("edge: encode the response: %w", err))
		}
		_, _ = w.Write(b)
		return
	}
	var errs, ext []byte
	var err error
	if len(resp.Errors) > 0 {
		if errs, err = json.Marshal(resp.Errors); err != nil {
			panic(fmt.Errorf("edge: encode the response's errors: %w", err))
		}
	}
	if len(resp.Extensions) > 0 {
		if ext, err = json.Marshal(resp.Extensions); err != nil {
			panic(fmt.Errorf("edge: encode the response's extensions: %w", err))
		}
	}
	// Three writes: the data, often the most of the answer, is not
	// copied here (net/http's buffer passes a long write through).
	head := make([]byte, 0, len(`{"errors":,"data":`)+len(errs))
	head = append(head, '{')
	if errs != nil {
		head = append(head, `"errors":`...)
		head = append(head, errs...)
		head = append(head, ',')
	}
	head = append(head, `"data":`...)
	data := []byte(resp.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	tail := make([]byte, 0, len(`,"extensions":}`)+len(ext))
	if ext != nil {
		tail = append(tail, `,"extensions":`...)
		tail = append(tail, ext...)
	}
	tail = append(tail, '}')
	for _, b := range [][]byte{head, data, tail} {
		if _, err := w.Write(b); err != nil {
			return // the client is gone
		}
	}
}
