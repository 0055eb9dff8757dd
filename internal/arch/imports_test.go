package arch

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/acme/bff-gateway"

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	Imports    []string
	Deps       []string
}

// goTool returns the go command that runs the tests: go test puts the
// bin directory of its GOROOT first in the tests' PATH.
func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("cannot find the go command in PATH (go test puts its own there): %v", err)
	}
	return p
}

// repoRoot is the module's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// list returns what go list says of patterns (with their dependencies'
// import paths, but not the test files' imports).
func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	cmd := exec.Command(goTool(t), append([]string{"list", "-json=ImportPath,Name,Dir,Imports,Deps"}, patterns...)...)
	cmd.Dir = repoRoot(t)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list %v: %v\n%s", patterns, err, errOut.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel returns a module package's path relative to the module ("" for
// packages of other modules).
func rel(importPath string) string {
	if importPath == module {
		return "."
	}
	r, ok := strings.CutPrefix(importPath, module+"/")
	if !ok {
		return ""
	}
	return r
}

func under(path string, prefixes ...string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// testSupport are the packages only tests use; like the end-to-end tests,
// they may start both sides.
var testSupport = []string{
	"internal/bff/bfftest", "internal/bff/playground/browsertest", "services/servicetest",
	"internal/testutil", "internal/fakeclock",
}

// room names the part of the tree a package belongs to.
func room(path string) string {
	switch {
	case under(path, testSupport...):
		return "test support"
	case under(path, "internal/e2e", "internal/tools", "internal/arch"):
		return "tools and end-to-end tests"
	case under(path, "internal/bff", "bff-web", "bff-mobile", "graph"):
		return "BFF"
	case under(path, "services"):
		return "services"
	case under(path, "internal"):
		return "kernel"
	}
	return "other"
}

// forbidden returns why the module package from may not import to, or "".
func forbidden(from, to string) string {
	rf, rt := room(from), room(to)
	switch {
	case rf == "test support" || rf == "tools and end-to-end tests":
		return ""
	case rt == "test support" || rt == "tools and end-to-end tests":
		return "only tests may import test support and tools"
	case rf == "kernel" && rt != "kernel":
		return "the kernel imports neither side"
	case rf == "BFF" && rt == "services":
		return "the BFF side does not import the services"
	case rf == "services" && rt == "BFF":
		return "the services do not import the BFF side"
	}
	for _, pair := range [][2]string{{"bff-web", "bff-mobile"}, {"bff-mobile", "bff-web"}} {
		if under(from, pair[0]) && under(to, pair[1]) {
			return "one BFF does not import the other"
		}
	}
	svc := func(p string) string {
		for _, s := range []string{"user", "order", "product"} {
			if under(p, "services/"+s) {
				return s
			}
		}
		return ""
	}
	if a, b := svc(from), svc(to); a != "" && b != "" && a != b {
		return "one service does not import another's packages"
	}
	return ""
}

// TestRoomsImportOnlyWhatTheyMay checks every import of every package of
// the module (test files aside) against the rooms' rules.
func TestRoomsImportOnlyWhatTheyMay(t *testing.T) {
	pkgs := list(t, "./...")
	if len(pkgs) < 40 {
		t.Fatalf("go list found %d packages; is this the repository root?", len(pkgs))
	}
	for _, p := range pkgs {
		from := rel(p.ImportPath)
		if room(from) == "other" && from != "." {
			t.Errorf("%s belongs to no room: put it under internal/, internal/bff/ or services/", from)
		}
		for _, imp := range p.Imports {
			to := rel(imp)
			if to == "" {
				continue
			}
			if why := forbidden(from, to); why != "" {
				t.Errorf("%s imports %s: %s", from, to, why)
			}
		}
	}
}

// TestBinariesLinkOnlyTheirSide checks what each binary links, directly or
// not.
func TestBinariesLinkOnlyTheirSide(t *testing.T) {
	serviceMustNot := []string{
		"github.com/99designs/gqlgen", "github.com/graph-gophers/dataloader", "github.com/sony/gobreaker",
		"github.com/vektah/gqlparser", module + "/internal/bff", module + "/bff-web", module + "/bff-mobile", module + "/graph",
	}
	bffMustNot := []string{"modernc.org/sqlite", "github.com/pressly/goose", module + "/services"}
	for _, p := range list(t, "./services/user", "./services/order", "./services/product", "./bff-web", "./bff-mobile") {
		if p.Name != "main" {
			t.Fatalf("%s is not a command", p.ImportPath)
		}
		mustNot := serviceMustNot
		if under(rel(p.ImportPath), "bff-web", "bff-mobile") {
			mustNot = bffMustNot
		}
		for _, dep := range p.Deps {
			for _, bad := range mustNot {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s links %s", rel(p.ImportPath), dep)
				}
			}
		}
	}
}

// TestTheRulesCatchViolations feeds the rules imports they must refuse and
// imports they must allow.
func TestTheRulesCatchViolations(t *testing.T) {
	for _, bad := range [][2]string{
		{"services/order/ordersvc", "internal/bff/upstream"},
		{"services/order/ordersvc", "internal/bff/breaker"},
		{"internal/bff/catalog", "services/product/productsvc"},
		{"internal/contract", "internal/bff/request"},
		{"internal/auth", "services/internal/platform"},
		{"bff-web/app", "bff-mobile/graph"},
		{"services/order/ordersvc", "services/product/productsvc"},
		{"internal/bff/loader", "internal/bff/bfftest"},
		{"services/user/usersvc", "graph/model"},
	} {
		if forbidden(bad[0], bad[1]) == "" {
			t.Errorf("%s importing %s passes the rules", bad[0], bad[1])
		}
	}
	for _, good := range [][2]string{
		{"services/order/ordersvc", "services/order/productclient"},
		{"services/order/ordersvc", "internal/contract"},
		{"internal/bff/upstream", "internal/restclient"},
		{"internal/bff/bfftest", "services/servicetest"},
		{"services/servicetest", "services/product/productsvc"},
		{"internal/e2e", "bff-web/app"},
		{"bff-web/graph", "graph/model"},
	} {
		if why := forbidden(good[0], good[1]); why != "" {
			t.Errorf("%s importing %s refused: %s", good[0], good[1], why)
		}
	}
	if !slices.Contains([]string{room("internal/seed"), room("internal/addrs")}, "kernel") {
		t.Error("the kernel room is misnamed")
	}
}
