package e2e_test

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/services/order/ordersvc"
	"github.com/acme/bff-gateway/services/product/productsvc"
	"github.com/acme/bff-gateway/services/user/usersvc"
)

// readme returns the README's text.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(auditRepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text under heading, up to the next heading of any
// level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no section %q", heading)
	}
	body := doc[i+len(heading)+2:]
	if j := strings.Index(body, "\n#"); j >= 0 {
		body = body[:j]
	}
	return body
}

// tableRows returns the cells of a section's table rows, header and rule
// left out.
func tableRows(body string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) > 0 {
		rows = rows[1:] // the header
	}
	return rows
}

var backticked = regexp.MustCompile("`([^`]+)`")

// defaults returns the pinned defaults of a BFF (the golden file of
// internal/bff/config) as leaf key → value, with nested keys joined by dots.
func defaults(t *testing.T, kind string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(auditRepoRoot(t), "internal", "bff", "config", "testdata", "defaults-"+kind+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, sub := range m {
				walk(strings.TrimPrefix(prefix+"."+k, "."), sub)
			}
			return
		}
		out[prefix] = v
	}
	walk("", tree)
	return out
}

// sameValue reports whether the README's text of a default says the
// pinned value: durations compare as durations ("10m" is "10m0s"), lists
// by their YAML flow form, an empty text as "none", the rest as text.
func sameValue(readme string, pinned any) bool {
	switch v := pinned.(type) {
	case []any:
		b, _ := yaml.Marshal(v)
		return strings.TrimSpace(string(b)) == readme
	case string:
		if v == "" {
			return readme == "none"
		}
		if d, err := time.ParseDuration(v); err == nil {
			r, err := time.ParseDuration(readme)
			return err == nil && r == d
		}
		return v == readme
	default:
		return fmt.Sprint(v) == readme
	}
}

// TestREADMEConfigurationTableIsTheDefaults keeps the README's BFF
// configuration table equal to the pinned defaults: a row for every key,
// no row for a key that does not exist, and each default as pinned
// ("web X, mobile Y" where they differ).
func TestREADMEConfigurationTableIsTheDefaults(t *testing.T) {
	web, mobile := defaults(t, "web"), defaults(t, "mobile")
	rows := tableRows(section(t, readme(t), "### BFF configuration"))
	seen := map[string]bool{}
	for _, row := range rows {
		if len(row) < 2 {
			t.Errorf("malformed row %q", row)
			continue
		}
		m := backticked.FindStringSubmatch(row[0])
		if m == nil {
			t.Errorf("row %q names no key", row)
			continue
		}
		key := m[1]
		seen[key] = true
		w, okWeb := web[key]
		mob, okMobile := mobile[key]
		if !okWeb || !okMobile {
			t.Errorf("the README documents %s, which is no key of the configuration", key)
			continue
		}
		if key == "api_keys" {
			// A list of name and hash pairs: the text describes it.
			if len(w.([]any)) != 0 || len(mob.([]any)) != 1 || !strings.Contains(row[1], "dev") {
				t.Errorf("api_keys: the README says %q; pinned web %v, mobile %v", row[1], w, mob)
			}
			continue
		}
		values := backticked.FindAllStringSubmatch(row[1], -1)
		switch {
		case strings.Contains(row[1], "web") && strings.Contains(row[1], "mobile") && len(values) == 2:
			if !sameValue(values[0][1], w) || !sameValue(values[1][1], mob) {
				t.Errorf("%s: the README says %q; pinned web %v, mobile %v", key, row[1], w, mob)
			}
		case row[1] == "none":
			if !sameValue("none", w) || !sameValue("none", mob) {
				t.Errorf("%s: the README says none; pinned web %v, mobile %v", key, w, mob)
			}
		case len(values) == 1:
			if !sameValue(values[0][1], w) || !sameValue(values[0][1], mob) {
				t.Errorf("%s: the README says %s; pinned web %v, mobile %v", key, values[0][1], w, mob)
			}
		default:
			t.Errorf("%s: the README's default %q is neither one value nor web and mobile ones", key, row[1])
		}
	}
	for key := range web {
		if !seen[key] {
			t.Errorf("the README's configuration table has no row for %s", key)
		}
	}
}

// TestREADMELimitsNameRealKeys checks the keys the limits table names.
func TestREADMELimitsNameRealKeys(t *testing.T) {
	web := defaults(t, "web")
	rows := tableRows(section(t, readme(t), "### Limits and protections"))
	if len(rows) < 20 {
		t.Fatalf("the limits table has %d rows", len(rows))
	}
	for _, row := range rows {
		if len(row) != 4 {
			t.Errorf("row %q has %d cells, want 4", row, len(row))
			continue
		}
		if row[2] == "*fixed*" {
			continue
		}
		for _, m := range backticked.FindAllStringSubmatch(row[2], -1) {
			key := m[1]
			if !strings.Contains(key, ".") {
				continue // a value such as `off`
			}
			if _, ok := web[key]; !ok {
				t.Errorf("the limits table names %s, which is no key of the configuration", key)
			}
		}
	}
}

// TestREADMEListsEveryErrorCode parses the packages that answer GraphQL
// errors and checks that the README's error-code table has each code.
func TestREADMEListsEveryErrorCode(t *testing.T) {
	root := auditRepoRoot(t)
	table := section(t, readme(t), "### GraphQL error codes")
	var codes []string
	for _, dir := range []string{"edge", "guard", "authn", "websafety"} {
		files, err := filepath.Glob(filepath.Join(root, "internal", "bff", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				vs, ok := n.(*ast.ValueSpec)
				if !ok {
					return true
				}
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						code, _ := strconv.Unquote(lit.Value)
						codes = append(codes, code)
					}
				}
				return true
			})
		}
	}
	if len(codes) < 30 {
		t.Fatalf("found %d codes in the code; the parse is broken", len(codes))
	}
	slices.Sort(codes)
	for _, code := range slices.Compact(codes) {
		if !strings.Contains(table, "`"+code+"`") {
			t.Errorf("the README's GraphQL error codes table does not list %s", code)
		}
	}
}

// envOfUsage is the environment variable a service flag's usage names.
var envOfUsage = regexp.MustCompile(`\(env ([A-Z_]+)\)$`)

// serviceDefaults returns, per service, each environment variable's
// default as the service's flags hold it.
func serviceDefaults() map[string]map[string]string {
	out := map[string]map[string]string{}
	for name, fs := range map[string]*flag.FlagSet{"user": usersvc.Flags(), "order": ordersvc.Flags(), "product": productsvc.Flags()} {
		out[name] = map[string]string{}
		fs.VisitAll(func(f *flag.Flag) {
			if m := envOfUsage.FindStringSubmatch(f.Usage); m != nil {
				out[name][m[1]] = f.DefValue
			}
		})
	}
	return out
}

// sameFlagValue reports whether the README's text of a default says a
// flag's default: "none" is empty, durations compare as durations.
func sameFlagValue(readme, def string) bool {
	if readme == "none" {
		return def == "" || def == "0s"
	}
	if d, err := time.ParseDuration(def); err == nil {
		r, err := time.ParseDuration(readme)
		return err == nil && r == d
	}
	return readme == def
}

// TestREADMEServiceTableIsTheDefaults keeps the README's table of the
// services' environment variables equal to their flags' defaults: a row
// for every variable a service uses, and each default as the flag has it,
// for every service the row is about ("(order)" names them; no name means
// all three).
func TestREADMEServiceTableIsTheDefaults(t *testing.T) {
	defs := serviceDefaults()
	rows := tableRows(section(t, readme(t), "## Configuration"))
	documented := map[string]bool{}
	serviceNames := regexp.MustCompile(`\(([a-z, ]+)\)`)
	for _, row := range rows {
		m := backticked.FindStringSubmatch(row[0])
		if m == nil {
			t.Errorf("row %q names no variable", row)
			continue
		}
		env := m[1]
		services := []string{"user", "order", "product"}
		if sm := serviceNames.FindStringSubmatch(row[0]); sm != nil {
			services = strings.Split(strings.ReplaceAll(sm[1], " ", ""), ",")
		}
		perService := map[string]string{}
		switch values := backticked.FindAllStringSubmatch(row[1], -1); {
		case strings.HasPrefix(row[1], "none"):
			for _, svc := range services {
				perService[svc] = "none"
			}
		case strings.HasPrefix(row[1], "user `"):
			// "user `a`, order `b`, product `c`"
			for i, svc := range []string{"user", "order", "product"} {
				if i < len(values) {
					perService[svc] = values[i][1]
				}
			}
		case len(values) >= 1:
			for _, svc := range services {
				perService[svc] = values[0][1]
			}
		}
		for _, svc := range services {
			documented[svc+" "+env] = true
			def, ok := defs[svc][env]
			if !ok {
				t.Errorf("the README says the %s service takes %s; it does not", svc, env)
				continue
			}
			if !sameFlagValue(perService[svc], def) {
				t.Errorf("%s (%s): the README says %q; the flag's default is %q", env, svc, perService[svc], def)
			}
		}
	}
	// Every variable a service reads is documented for it, but the
	// common ones it takes and ignores (the user service checks its own
	// tokens, so it never refetches a JWKS).
	ignored := map[string]bool{"user JWKS_MIN_REFRESH_GAP": true}
	for svc, envs := range defs {
		for env := range envs {
			if !documented[svc+" "+env] && !ignored[svc+" "+env] {
				t.Errorf("the README's configuration table does not give %s for the %s service", env, svc)
			}
		}
	}
}

// TestREADMESaysHowManyVerifiedTokensAreRemembered checks the token
// verification row against auth.VerifiedTokens.
func TestREADMESaysHowManyDocumentsAreRemembered(t *testing.T) {
	want := fmt.Sprintf("%d per process, none longer than %d KiB", guard.CachedDocuments, guard.MaxCachedDocumentBytes>>10)
	for _, row := range tableRows(section(t, readme(t), "### Limits and protections")) {
		if strings.HasPrefix(row[0], "parsed documents remembered") {
			if !strings.Contains(row[1], want) {
				t.Errorf("the parsed documents row does not say %q: %s", want, row[1])
			}
			return
		}
	}
	t.Error("the limits table has no parsed documents row")
}

func TestREADMESaysHowManyVerifiedTokensAreRemembered(t *testing.T) {
	n := auth.VerifiedTokens
	want := fmt.Sprintf("at most %d,%03d per process", n/1000, n%1000)
	for _, row := range tableRows(section(t, readme(t), "### Limits and protections")) {
		if row[0] == "token verification" {
			if !strings.Contains(row[1], want) {
				t.Errorf("the token verification row does not say %q: %s", want, row[1])
			}
			return
		}
	}
	t.Error("the limits table has no token verification row")
}
