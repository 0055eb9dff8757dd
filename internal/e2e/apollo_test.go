package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mobile "github.com/acme/bff-gateway/bff-mobile/app"
	"github.com/acme/bff-gateway/bff-mobile/operations"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/guard"
)

// apolloTimeout bounds one run of apollo.mjs (a few dozen requests).
const apolloTimeout = 2 * time.Minute

// TestApolloClientPersistedQueries runs the mobile app's documents through
// Apollo Client 4 and its persisted queries link
// (internal/tools/nodetests/apollo.mjs) against the mobile BFF: in
// development, automatic persisted queries (a miss, the retry with the
// document, then hits by hash alone); in production, trusted documents
// (the app's documents by hash alone from the first request, thanks to
// manifest.json, and nothing else).
func TestApolloClientPersistedQueries(t *testing.T) {
	node, root := requireNodePackage(t, "@apollo/client")
	script := filepath.Join(root, "internal", "tools", "nodetests", "apollo.mjs")
	for _, mode := range []struct {
		env  string
		args []string
	}{
		{"development", nil},
		{"production", []string{"--production"}},
	} {
		t.Run(mode.env, func(t *testing.T) {
			t.Parallel()
			env := bfftest.Start(t, bfftest.Options{Kind: config.Mobile, Build: mobile.NewWithDeps,
				Configure: func(c *config.Config) {
					if mode.env == "production" {
						bfftest.InProduction(c)
					}
				},
			})
			if got := env.Config.TrustedOnly(); got != (mode.env == "production") {
				t.Fatalf("%s: trusted documents only = %v", mode.env, got)
			}
			args := append([]string{script, env.URL + "/graphql", "--api-key=" + env.APIKey()}, mode.args...)
			out := runNode(t, root, node, args...)
			t.Logf("apollo.mjs (%s):\n%s", mode.env, out)
		})
	}
}

// TestApolloManifestIsCurrent regenerates the mobile persisted query
// manifest with Apollo Client (manifest.mjs --check) and fails when the
// committed bff-mobile/operations/manifest.json differs by a byte.
func TestApolloManifestIsCurrent(t *testing.T) {
	node, root := requireNodePackage(t, "@apollo/client")
	out := runNode(t, root, node, filepath.Join(root, "internal", "tools", "nodetests", "manifest.mjs"), "--check")
	t.Log(out)
}

// TestTrustedManifestByHash needs no Node.js: the production mobile BFF
// runs each operation of manifest.json by its id alone, the request Apollo
// Client sends first.
func TestTrustedManifestByHash(t *testing.T) {
	t.Parallel()
	env := bfftest.Start(t, bfftest.Options{Kind: config.Mobile, Build: mobile.NewWithDeps,
		Configure: bfftest.InProduction,
	})
	pm, err := guard.ParsePersistedManifest(operations.Manifest())
	if err != nil {
		t.Fatal(err)
	}
	c := env.NewClient()
	c.Header.Set(authn.APIKeyHeader, env.APIKey())
	byHash := func(id string, vars map[string]any) bfftest.Response {
		body, _ := json.Marshal(map[string]any{
			"variables":  vars,
			"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": id}},
		})
		return c.Post(t, body, "application/json")
	}
	ids := map[string]string{}
	for _, op := range pm.Operations {
		ids[op.Name] = op.ID
	}
	login := byHash(ids["Login"], map[string]any{"email": "ada@example.com", "password": "ada123"})
	var data struct {
		Login *struct{ Token string } `json:"login"`
	}
	if err := json.Unmarshal(login.Data, &data); err != nil || data.Login == nil || data.Login.Token == "" {
		t.Fatalf("Login by its manifest id: %d %s", login.Status, login.Raw)
	}
	c.Header.Set("Authorization", "Bearer "+data.Login.Token)
	vars := map[string]map[string]any{
		"Product":    {"id": "prd_unknown0000000"},
		"PlaceOrder": {"items": []any{}, "idempotencyKey": "e2e-manifest-empty"},
	}
	for _, op := range pm.Operations {
		if op.Name == "Login" {
			continue
		}
		r := byHash(op.ID, vars[op.Name])
		for _, e := range r.Errors {
			if strings.HasPrefix(e.Code(), "PERSISTED_QUERY") {
				t.Errorf("%s by its manifest id: refused: %s", op.Name, r.Raw)
			}
		}
		if r.Status != 200 || len(r.Data) == 0 || string(r.Data) == "null" {
			t.Errorf("%s by its manifest id: %d %s", op.Name, r.Status, r.Raw)
		}
	}
	r := byHash(guard.Hash(`{ home { greeting } }`), nil)
	if len(r.Errors) != 1 || r.Errors[0].Code() != guard.CodePersistedQueryNotAllowed {
		t.Errorf("an unknown hash: %d %s", r.Status, r.Raw)
	}
}

// runNode runs node with args from the module root and returns its output,
// failing the test on a non-zero exit or after apolloTimeout.
func runNode(t *testing.T, root, node string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), apolloTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = root
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s did not finish within %s:\n%s", strings.Join(args, " "), apolloTimeout, out.String())
	}
	if err != nil {
		t.Fatalf("node %s failed (%v):\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// requireNodePackage returns the path of node and the module root,
// skipping the test when node or the Node package pkg of
// internal/tools/nodetests is missing, or failing it when CI is set.
func requireNodePackage(t *testing.T, pkg string) (node, root string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s is not the module root: %v", root, err)
	}
	missing := func(what string) {
		msg := what + ": install Node.js and run `npm ci --prefix internal/tools/nodetests` to run the Apollo Client tests"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so it may not be skipped)")
		}
		t.Skip(msg)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	manifest := filepath.Join(root, "internal", "tools", "nodetests", "node_modules", filepath.FromSlash(pkg), "package.json")
	if _, err := os.Stat(manifest); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		missing("internal/tools/nodetests/node_modules has no " + pkg)
	}
	return node, root
}
