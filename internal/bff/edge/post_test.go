package edge

import (
	"bytes"
	"encoding/json"
	"reflect"
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
