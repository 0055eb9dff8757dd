package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestWriteResponse checks that writeResponse writes what json.Marshal
// writes of a response, byte for byte where the data has nothing
// json.Marshal re-encodes, and the same JSON value otherwise, with the
// data as the executor wrote it.
func TestWriteResponse(t *testing.T) {
	t.Parallel()
	yes := true
	for name, tc := range map[string]struct {
		resp     *graphql.Response
		verbatim bool // the data needs no re-encoding: the bytes are json.Marshal's
	}{
		"nil":                     {resp: nil, verbatim: true},
		"data":                    {resp: &graphql.Response{Data: []byte(`{"a":[1,2,{"b":"c"}]}`)}, verbatim: true},
		"no data":                 {resp: &graphql.Response{}, verbatim: true},
		"errors and null data":    {resp: &graphql.Response{Errors: gqlerror.List{{Message: "no", Path: ast.Path{ast.PathName("a")}, Extensions: map[string]any{"code": "X"}}}, Data: []byte("null")}, verbatim: true},
		"errors, data, extension": {resp: &graphql.Response{Errors: gqlerror.List{{Message: "partial"}}, Data: []byte(`{"a":null}`), Extensions: map[string]any{"staleData": map[string]any{"products": []string{"p1"}}}}, verbatim: true},
		"incremental":             {resp: &graphql.Response{Data: []byte(`{"a":1}`), Label: "l", Path: ast.Path{ast.PathName("x")}, HasNext: &yes}, verbatim: true},
		"HTML characters":         {resp: &graphql.Response{Data: []byte(`{"a":"<b> & </b>","é":"\u2028"}`)}},
	} {
		var got bytes.Buffer
		writeResponse(&got, tc.resp)
		want, err := json.Marshal(tc.resp)
		if err != nil {
			t.Fatal(err)
		}
		if tc.verbatim && got.String() != string(want) {
			t.Errorf("%s: wrote %s, json.Marshal writes %s", name, got.String(), want)
		}
		var gotV, wantV any
		if err := json.Unmarshal(got.Bytes(), &gotV); err != nil {
			t.Fatalf("%s: %s is not JSON: %v", name, got.String(), err)
		}
		_ = json.Unmarshal(want, &wantV)
		if !reflect.DeepEqual(gotV, wantV) {
			t.Errorf("%s: wrote %s, json.Marshal writes %s", name, got.String(), want)
		}
	}

	// The data is written as the executor wrote it, not re-encoded.
	var got bytes.Buffer
	writeResponse(&got, &graphql.Response{Data: []byte(`{"a": "<b>"}`)})
	if got.String() != `{"data":{"a": "<b>"}}` {
		t.Errorf("wrote %s, want the data as it is", got.String())
	}
}

// TestCheckedParamsAreTheBodysParams: an operation the guard checked sets
// the parameters decoding its JSON body sets (numbers as json.Number,
// null variables, extensions), so that POST may run it without the body.
func TestCheckedParamsAreTheBodysParams(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]*Checked{
		"query only":      {Query: "{ a }"},
		"everything":      {Query: "query Q($n: Int) { a(n: $n) }", OperationName: "Q", Variables: json.RawMessage(`{"n":12345678901234567890,"f":1.5,"s":"x","l":[1,{"b":null}]}`), Extensions: map[string]json.RawMessage{"trace": json.RawMessage(`{"on":true,"n":3}`), "x": json.RawMessage(`null`)}},
		"null variables":  {Query: "{ a }", Variables: json.RawMessage(`null`)},
		"empty variables": {Query: "{ a }", Variables: json.RawMessage(`{}`)},
	} {
		body, err := c.Body()
		if err != nil {
			t.Fatal(err)
		}
		var want graphql.RawParams
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got graphql.RawParams
		if err := c.params(&got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: params %+v, the body's %+v", name, got, want)
		}
	}
	bad := &Checked{Query: "{ a }", Variables: json.RawMessage(`{"n":`)}
	if err := bad.params(&graphql.RawParams{}); err == nil {
		t.Error("variables that are not JSON were taken")
	}
}

// TestPOSTRunsTheCheckedOperationNotTheBody: with a checked operation in
// its context, POST runs it without reading the body.
func TestPOSTRunsTheCheckedOperationNotTheBody(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader("not read"))
	r.Header.Set("Content-Type", "application/json")
	r = r.WithContext(WithChecked(r.Context(), &Checked{Query: "{ a }", OperationName: "A"}))
	exec := &recordingExecutor{}
	POST{}.Do(httptest.NewRecorder(), r, exec)
	if exec.params == nil || exec.params.Query != "{ a }" || exec.params.OperationName != "A" {
		t.Fatalf("ran %+v, want the checked operation", exec.params)
	}
	if rest, _ := io.ReadAll(r.Body); string(rest) != "not read" {
		t.Errorf("the body was read: %q left", rest)
	}
}

// recordingExecutor records the parameters of the operation it is asked
// to run and refuses it.
type recordingExecutor struct {
	params *graphql.RawParams
}

func (e *recordingExecutor) CreateOperationContext(_ context.Context, params *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	e.params = params
	return &graphql.OperationContext{}, gqlerror.List{gqlerror.Errorf("recorded")}
}

func (*recordingExecutor) DispatchOperation(context.Context, *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	panic("not run")
}

func (*recordingExecutor) DispatchError(context.Context, gqlerror.List) *graphql.Response {
	return &graphql.Response{}
}
