package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// generated is the shape of gqlgen's list marshalling (v0.17.98).
const generated = `package generated

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

type executionContext struct{}

func (ec *executionContext) marshalItems(ctx context.Context, sel ast.SelectionSet, v []int) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return graphql.MarshalInt(v[i])
	})
	return ret
}

func (ec *executionContext) marshalOrders(ctx context.Context, sel ast.SelectionSet, v []int) graphql.Marshaler {
	return graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return graphql.MarshalInt(v[i])
	})
}

func (ec *executionContext) marshalNodes(ctx context.Context, sel ast.SelectionSet, v []int) graphql.Marshaler {
	return graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return graphql.MarshalInt(v[i])
	})
}
`

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "generated.go")
	if err := os.WriteFile(path, []byte(generated), 0o644); err != nil {
		t.Fatal(err)
	}
	p := plan{
		inOrder: map[string]bool{"marshalItems": true},
		bySel:   map[string]bool{"marshalOrders": true},
		waiting: map[string][]string{"User": {"orders"}},
	}
	if err := rewrite(path, p); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := string(out)
	for _, want := range []string{
		`"github.com/acme/bff-gateway/internal/bff/gqllist"`,
		"ret := gqllist.MarshalInOrder(ctx, len(v), 0, false, func",
		"return gqllist.Marshal(ctx, sel, fieldsThatWait, len(v), 0, false, func",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("rewritten file lacks %q:\n%s", want, src)
		}
	}
	if n := strings.Count(src, "graphql.MarshalSliceConcurrently"); n != 1 {
		t.Errorf("%d calls of MarshalSliceConcurrently left, want 1 (marshalNodes)", n)
	}
	waiting, err := os.ReadFile(filepath.Join(dir, waitingFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(waiting), `"User": {"orders": true},`) || !strings.HasPrefix(string(waiting), "// Code generated") {
		t.Errorf("%s:\n%s", waitingFile, waiting)
	}
}

func TestRewriteRefusesWhenGqlgensCodeChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "generated.go")
	if err := os.WriteFile(path, []byte(generated), 0o644); err != nil {
		t.Fatal(err)
	}
	err := rewrite(path, plan{inOrder: map[string]bool{"marshalMissing": true}})
	if err == nil || !strings.Contains(err.Error(), "marshalMissing (0 calls)") {
		t.Fatalf("rewrite of a function without the call: %v", err)
	}
	out, _ := os.ReadFile(path)
	if string(out) != generated {
		t.Error("the file was changed although the rewrite was refused")
	}
}
