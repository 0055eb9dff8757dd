package bfftest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/gqldocs"
)

// Operations are a client's GraphQL documents, by file name without the
// extension, with the shared fragments of fragments.graphql (if any).
type Operations struct {
	Docs      map[string]string
	fragments map[string]string
}

// LoadOperations reads every .graphql file of dir.
func LoadOperations(t testing.TB, dir string) *Operations {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.graphql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no operations in %s: %v", dir, err)
	}
	ops := &Operations{Docs: map[string]string{}, fragments: map[string]string{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".graphql")
		if name == gqldocs.FragmentsFile {
			ops.fragments = gqldocs.SplitFragments(string(b))
			continue
		}
		ops.Docs[name] = string(b)
	}
	return ops
}

// Document returns the named operation with the fragments it uses, directly
// or through other fragments, appended, as a GraphQL client sends it.
func (o *Operations) Document(name string) (string, error) {
	doc, ok := o.Docs[name]
	if !ok {
		return "", fmt.Errorf("no operation %q", name)
	}
	full, err := gqldocs.WithFragments(doc, o.fragments)
	if err != nil {
		return "", fmt.Errorf("operation %s: %w", name, err)
	}
	return full, nil
}
