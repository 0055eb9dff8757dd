package gqldocs

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestComposeAppendsOnlyTheFragmentsUsed(t *testing.T) {
	docs := map[string]string{
		"fragments": "# shared\nfragment A on T {\n  x\n  ...B\n}\n\n# b\nfragment B on T { y }\n\nfragment C on T { z }\n",
		"Q":         "query Q { t { ...A } }",
		"R":         "query R { t { id } }",
		"S":         "query S { t { ... on T { id } } }",
	}
	got, err := Compose(docs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["fragments"]; ok || len(got) != 3 {
		t.Fatalf("Compose = %v", got)
	}
	q := got["Q"]
	if !strings.Contains(q, "fragment A on T") || !strings.Contains(q, "fragment B on T") || strings.Contains(q, "fragment C") {
		t.Errorf("Q = %q", q)
	}
	if strings.Contains(q, "# b") {
		t.Errorf("a comment belonging to the next fragment leaked into A: %q", q)
	}
	if got["R"] != docs["R"] || got["S"] != docs["S"] {
		t.Errorf("documents without spreads must stay as they are: %q %q", got["R"], got["S"])
	}
	if _, err := Compose(map[string]string{"X": "{ ...Missing }"}); err == nil {
		t.Error("an unknown fragment must be an error")
	}
}

func TestReadTakesTheGraphQLFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"A.graphql": {Data: []byte("query A { a }")},
		"notes.md":  {Data: []byte("# not a document")},
	}
	docs, err := Read(fsys)
	if err != nil || len(docs) != 1 || docs["A"] != "query A { a }" {
		t.Errorf("Read = %v, %v", docs, err)
	}
}

func TestOperationNames(t *testing.T) {
	got, err := OperationNames(map[string]string{
		"a": "query Dashboard { a } mutation Login { b }",
		"b": "{ anonymous }",
		"c": "fragment F on Q { x } query Dashboard { c }",
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Dashboard", "Login"}; !slices.Equal(got, want) {
		t.Errorf("OperationNames = %v, want %v", got, want)
	}
	if _, err := OperationNames(map[string]string{"bad": "query {"}); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("a document that does not parse: %v", err)
	}
}
