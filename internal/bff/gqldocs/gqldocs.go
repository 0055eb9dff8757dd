// Package gqldocs composes a client's GraphQL documents the way GraphQL
// clients send them: each operation followed by the fragments it uses,
// directly or through other fragments.
package gqldocs

import (
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

var (
	fragmentDef    = regexp.MustCompile(`(?m)^fragment (\w+) on \w+`)
	fragmentSpread = regexp.MustCompile(`\.\.\.(\w+)`)
)

// FragmentsFile is the file name (without extension) that holds the
// shared fragments of a client's documents.
const FragmentsFile = "fragments"

// Compose returns every operation of docs (file name → text) with the
// fragments it uses appended; the FragmentsFile entry, if any, supplies
// the fragments and is not itself an operation.
func Compose(docs map[string]string) (map[string]string, error) {
	fragments := SplitFragments(docs[FragmentsFile])
	out := make(map[string]string, len(docs))
	for name, doc := range docs {
		if name == FragmentsFile {
			continue
		}
		full, err := WithFragments(doc, fragments)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = full
	}
	return out, nil
}

// SplitFragments cuts a file of fragment definitions into one per name.
func SplitFragments(src string) map[string]string {
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

// WithFragments returns doc with the fragments it uses appended, each once,
// in the order they are first reached.
func WithFragments(doc string, fragments map[string]string) (string, error) {
	var used []string
	seen := map[string]bool{}
	queue := spreads(doc)
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		body, ok := fragments[f]
		if !ok {
			return "", fmt.Errorf("unknown fragment %s", f)
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

// Names returns the keys of docs, sorted.
func Names(docs map[string]string) []string {
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Read returns the text of every .graphql file at the root of fsys by its
// name without the extension (an embedded operations folder).
func Read(fsys fs.FS) (map[string]string, error) {
	paths, err := fs.Glob(fsys, "*.graphql")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(paths))
	for _, p := range paths {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		out[strings.TrimSuffix(p, ".graphql")] = string(b)
	}
	return out, nil
}

// OperationNames returns the names of the named operations of docs, each
// once, sorted: the operations a BFF knows by name. A document that does
// not parse is an error.
func OperationNames(docs map[string]string) ([]string, error) {
	seen := map[string]bool{}
	for name, doc := range docs {
		q, err := parser.ParseQuery(&ast.Source{Name: name, Input: doc})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, op := range q.Operations {
			if op.Name != "" {
				seen[op.Name] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
