package operations_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/acme/bff-gateway/bff-mobile/operations"
	"github.com/acme/bff-gateway/internal/bff/gqldocs"
	"github.com/acme/bff-gateway/internal/bff/guard"
)

const regenerate = "manifest.json is stale: run `node internal/tools/nodetests/manifest.mjs` (see internal/tools/nodetests) and commit it"

// TestManifestIsUpToDate checks manifest.json against the .graphql files:
// the same operations, each body the same document as its file once
// Apollo Client's __typename fields are added, each id the SHA-256 of its
// body.
func TestManifestIsUpToDate(t *testing.T) {
	pm, err := guard.ParsePersistedManifest(operations.Manifest())
	if err != nil {
		t.Fatalf("%v\n%s", err, regenerate)
	}
	docs, err := gqldocs.Compose(operations.Documents())
	if err != nil {
		t.Fatal(err)
	}

	byName := map[string]guard.PersistedOperation{}
	for _, op := range pm.Operations {
		byName[op.Name] = op
	}
	var want []string
	for _, file := range gqldocs.Names(docs) {
		raw := parse(t, file+".graphql", docs[file])
		if len(raw.Operations) != 1 {
			t.Fatalf("%s.graphql has %d operations, want 1", file, len(raw.Operations))
		}
		rawOp := raw.Operations[0]
		want = append(want, rawOp.Name)
		op, ok := byName[rawOp.Name]
		if !ok {
			t.Errorf("operation %s (%s.graphql) is not in manifest.json\n%s", rawOp.Name, file, regenerate)
			continue
		}
		if guard.Hash(op.Body) != op.ID {
			t.Errorf("%s: id is not the SHA-256 of the body", op.Name)
		}
		sent := parse(t, "manifest.json "+op.Name, op.Body)
		if len(sent.Operations) != 1 || sent.Operations[0].Name != rawOp.Name {
			t.Errorf("manifest.json %s: the body's operations are %v, want only %s\n%s", op.Name, names(sent), rawOp.Name, regenerate)
			continue
		}
		if got := string(sent.Operations[0].Operation); got != op.Type || got != string(rawOp.Operation) {
			t.Errorf("manifest.json %s: type %q, body's %q, file's %q\n%s", op.Name, op.Type, got, rawOp.Operation, regenerate)
		}
		addTypename(raw)
		if got, want := format(sent), format(raw); got != want {
			t.Errorf("manifest.json %s is not %s.graphql with __typename added:\n--- manifest.json\n%s\n--- %s.graphql (with __typename)\n%s\n%s",
				op.Name, file, got, file, want, regenerate)
		}
	}
	var got []string
	for _, op := range pm.Operations {
		got = append(got, op.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("manifest.json has operations %v, the .graphql files %v\n%s", got, want, regenerate)
	}
}

// TestManifestIsTrusted checks that a guard's manifest built from the
// documents and manifest.json accepts both the files' texts and the
// manifest's bodies, by text and by hash.
func TestManifestIsTrusted(t *testing.T) {
	m, err := guard.NewManifestWithPersisted(operations.Documents(), operations.Manifest())
	if err != nil {
		t.Fatal(err)
	}
	pm, err := guard.ParsePersistedManifest(operations.Manifest())
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range pm.Operations {
		if text, ok := m.Lookup(op.ID); !ok || text != op.Body {
			t.Errorf("%s: the manifest id is not trusted", op.Name)
		}
		if !m.Contains(op.Body) {
			t.Errorf("%s: the manifest body is not trusted", op.Name)
		}
	}
	for name, text := range operations.Documents() {
		if _, ok := m.Lookup(guard.Hash(text)); !ok || !m.Contains(text) {
			t.Errorf("%s.graphql is not trusted", name)
		}
	}
}

func parse(t *testing.T, name, text string) *ast.QueryDocument {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Name: name, Input: text})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

func names(doc *ast.QueryDocument) []string {
	var out []string
	for _, op := range doc.Operations {
		out = append(out, op.Name)
	}
	return out
}

func format(doc *ast.QueryDocument) string {
	var b strings.Builder
	formatter.NewFormatter(&b).FormatQueryDocument(doc)
	return b.String()
}

// addTypename adds a __typename field to the end of every selection set
// of doc but the operations' own, as Apollo Client's InMemoryCache does
// (addTypenameToDocument): not where the set already has a field whose
// name starts with "__", nor under a field with @export.
func addTypename(doc *ast.QueryDocument) {
	for _, op := range doc.Operations {
		for _, sel := range op.SelectionSet {
			typenameIn(sel)
		}
	}
	for _, f := range doc.Fragments {
		f.SelectionSet = withTypename(f.SelectionSet)
	}
}

func typenameIn(sel ast.Selection) {
	switch s := sel.(type) {
	case *ast.Field:
		if len(s.SelectionSet) > 0 && s.Directives.ForName("export") == nil {
			s.SelectionSet = withTypename(s.SelectionSet)
		} else {
			for _, c := range s.SelectionSet {
				typenameIn(c)
			}
		}
	case *ast.InlineFragment:
		s.SelectionSet = withTypename(s.SelectionSet)
	}
}

func withTypename(set ast.SelectionSet) ast.SelectionSet {
	for _, c := range set {
		typenameIn(c)
	}
	for _, c := range set {
		if f, ok := c.(*ast.Field); ok && strings.HasPrefix(f.Name, "__") {
			return set
		}
	}
	return append(set, &ast.Field{Name: "__typename"})
}
