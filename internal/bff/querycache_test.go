package bff

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/acme/bff-gateway/internal/bff/guard"
)

// TestQueryCacheIsBounded: gqlgen's cache of validated documents keeps
// guard.CachedDocuments of them, and none longer than
// guard.MaxCachedDocumentBytes.
func TestQueryCacheIsBounded(t *testing.T) {
	ctx := t.Context()
	c := newQueryCache()
	doc := &ast.QueryDocument{}
	c.Add(ctx, "{ a }", doc)
	if got, ok := c.Get(ctx, "{ a }"); !ok || got != doc {
		t.Fatal("a short document is not remembered")
	}
	long := "{ a " + strings.Repeat(" ", guard.MaxCachedDocumentBytes) + "}"
	c.Add(ctx, long, doc)
	if _, ok := c.Get(ctx, long); ok {
		t.Errorf("a document of %d bytes is remembered", len(long))
	}
	key := func(i int) string { return "{ a" + strings.Repeat(" ", i) + "}" }
	for i := range 2 * guard.CachedDocuments {
		c.Add(ctx, key(i), doc)
	}
	kept := 0
	for i := range 2 * guard.CachedDocuments {
		if _, ok := c.Get(ctx, key(i)); ok {
			kept++
		}
	}
	if kept != guard.CachedDocuments {
		t.Errorf("%d documents remembered, want %d", kept, guard.CachedDocuments)
	}
}
