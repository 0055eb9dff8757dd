package arch

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// sections of docs/ARCHITECTURE.md list the packages of a room, each item
// starting with the package's name in backticks; dir is where they live.
var sections = []struct{ heading, dir string }{
	{"### The kernel (`internal/`)", "internal"},
	{"### The BFF runtime (`internal/bff/`)", "internal/bff"},
	{"### The service platform (`services/internal/`)", "services/internal"},
}

// notListed are directories of those rooms the lists need not name: rooms
// of their own, and packages named by their path elsewhere on the page.
var notListed = []string{"internal/bff", "internal/e2e", "internal/tools", "internal/arch", "internal/bff/playground/browsertest"}

var (
	listItem  = regexp.MustCompile("^- `([a-z0-9]+)`")
	namedPath = regexp.MustCompile("`((?:internal|services|bff-web|bff-mobile|graph)/[A-Za-z0-9_./{},-]*?)/?(?:\\.\\.\\.)?`")
)

// TestArchitectureNamesThePackagesThatExist keeps docs/ARCHITECTURE.md true:
// every package it lists exists, every package of the kernel, the BFF
// runtime and the service platform is listed, and every repository path
// it names is there.
func TestArchitectureNamesThePackagesThatExist(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, s := range sections {
		i := strings.Index(doc, s.heading)
		if i < 0 {
			t.Errorf("no section %q", s.heading)
			continue
		}
		body := doc[i+len(s.heading):]
		if j := strings.Index(body, "\n#"); j >= 0 {
			body = body[:j]
		}
		var listed []string
		for _, line := range strings.Split(body, "\n") {
			if m := listItem.FindStringSubmatch(line); m != nil {
				name := m[1]
				dir := filepath.Join(s.dir, name)
				if s.dir == "internal/bff" && name == "bff" {
					dir = s.dir
				}
				listed = append(listed, dir)
				if !hasGo(filepath.Join(root, dir)) {
					t.Errorf("%s lists %s, which is not a package", s.heading, dir)
				}
			}
		}
		entries, err := os.ReadDir(filepath.Join(root, s.dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			dir := filepath.Join(s.dir, e.Name())
			if !e.IsDir() || !hasGo(filepath.Join(root, dir)) || slices.Contains(notListed, dir) {
				continue
			}
			if !slices.Contains(listed, dir) {
				t.Errorf("%s does not list %s", s.heading, dir)
			}
		}
	}
	for _, m := range namedPath.FindAllStringSubmatch(doc, -1) {
		for _, p := range expand(m[1]) {
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("docs/ARCHITECTURE.md names %s, which does not exist", p)
			}
		}
	}
}

// expand turns "services/{user,order}/x" into its paths.
func expand(p string) []string {
	open, end := strings.Index(p, "{"), strings.Index(p, "}")
	if open < 0 || end < open {
		return []string{p}
	}
	var out []string
	for _, alt := range strings.Split(p[open+1:end], ",") {
		out = append(out, expand(p[:open]+alt+p[end+1:])...)
	}
	return out
}

func hasGo(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(matches) > 0
}
