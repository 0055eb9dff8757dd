package bfftest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Operations are a client's GraphQL documents, by file name without the
// extension, with the shared fragments of fragments.graphql (if any).
type Operations struct {
	Docs      map[string]string
	fragments map[string]string
}

var (
	fragmentDef    = regexp.MustCompile(`(?m)^fragment (\w+) on \w+`)
	fragmentSpread = regexp.MustCompile(`\.\.\.(\w+)`)
)

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
		if name == "fragments" {
			ops.fragments = splitFragments(string(b))
			continue
		}
		ops.Docs[name] = string(b)
	}
	return ops
}

// splitFragments cuts a file of fragment definitions into one per name.
func splitFragments(src string) map[string]string {
	out := map[string]string{}
	locs := fragmentDef.FindAllStringSubmatchIndex(src, -1)
	for i, loc := range locs {
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		out[src[loc[2]:loc[3]]] = strings.TrimSpace(stripTrailingComments(src[loc[0]:end]))
	}
	return out
}

func stripTrailingComments(s string) string {
	lines := strings.Split(s, "\n")
	for len(lines) > 0 && (strings.HasPrefix(strings.TrimSpace(lines[len(lines)-1]), "#") || strings.TrimSpace(lines[len(lines)-1]) == "") {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// Document returns the named operation with the fragments it uses, directly
// or through other fragments, appended, as a GraphQL client sends it.
func (o *Operations) Document(name string) (string, error) {
	doc, ok := o.Docs[name]
	if !ok {
		return "", fmt.Errorf("no operation %q", name)
	}
	var used []string
	seen := map[string]bool{}
	queue := spreads(doc)
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		body, ok := o.fragments[f]
		if !ok {
			return "", fmt.Errorf("operation %s uses unknown fragment %s", name, f)
		}
		seen[f] = true
		used = append(used, body)
		queue = append(queue, spreads(body)...)
	}
	return strings.Join(append([]string{doc}, used...), "\n\n"), nil
}

func spreads(s string) []string {
	var out []string
	for _, m := range fragmentSpread.FindAllStringSubmatch(s, -1) {
		if m[1] != "on" {
			out = append(out, m[1])
		}
	}
	return out
}
