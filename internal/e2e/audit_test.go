package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	mobile "github.com/acme/bff-gateway/bff-mobile/app"
	web "github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
)

// auditTimeout bounds one run of the audit suite (about 60 requests).
const auditTimeout = 3 * time.Minute

// TestGraphQLOverHTTPAudit runs graphql-http's GraphQL-over-HTTP server
// audits against /graphql of each BFF, in its default (development)
// configuration: every MUST has to pass, and every SHOULD that is not in
// internal/tools/nodetests/audit-accepted.json. The mobile BFF is sent its
// development API key; the web BFF's CSRF check does not apply, since the
// audits send no session cookie.
//
// The audits send ad-hoc documents, some of them introspection: in
// production the mobile BFF runs only its trusted documents and both BFFs
// disable introspection, so those refusals, by design, fail audits there.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	root := auditRepoRoot(t)
	script := filepath.Join(root, "internal", "tools", "nodetests", "audit.mjs")
	node := requireAuditTools(t, root)

	tests := []struct {
		name    string
		kind    config.Kind
		build   bfftest.Build
		headers []string
	}{
		{"bff-web", config.Web, web.NewWithDeps, nil},
		{"bff-mobile", config.Mobile, mobile.NewWithDeps, []string{authn.APIKeyHeader + ": " + apikey.DevKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := bfftest.Start(t, bfftest.Options{Kind: tt.kind, Build: tt.build})
			args := []string{script}
			for _, h := range tt.headers {
				args = append(args, "--header", h)
			}
			args = append(args, env.URL+"/graphql")

			ctx, cancel := context.WithTimeout(t.Context(), auditTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "AUDIT_URL=", "AUDIT_HEADERS=")
			cmd.WaitDelay = 5 * time.Second
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("the audit of %s did not finish within %s:\n%s", tt.name, auditTimeout, out.String())
			}
			if err != nil {
				t.Fatalf("the audit of %s failed (%v):\n%s", tt.name, err, out.String())
			}
			t.Logf("the audit of %s:\n%s", tt.name, out.String())
		})
	}
}

// requireAuditTools returns the path of node, skipping the test when node or
// the installed Node test tools are missing, or failing it under CI.
func requireAuditTools(t *testing.T, root string) string {
	t.Helper()
	missing := func(what string) {
		msg := what + ": install Node.js and run `npm ci --prefix internal/tools/nodetests` to run the GraphQL-over-HTTP audit"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so it may not be skipped)")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	pkg := filepath.Join(root, "internal", "tools", "nodetests", "node_modules", "graphql-http", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		missing("internal/tools/nodetests/node_modules has no graphql-http")
	}
	return node
}

// auditRepoRoot returns the module's root directory, two levels up.
func auditRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s is not the module root: %v", root, err)
	}
	return root
}
