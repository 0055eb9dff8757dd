package auth_test

import (
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
)

// FuzzBearerToken: any Authorization header yields a token without
// surrounding space, nothing, or an Unauthenticated error; never a panic,
// and never a token from an oversized header.
func FuzzBearerToken(f *testing.F) {
	for _, seed := range []string{"", "Bearer abc.def.ghi", "bearer  x ", "Basic Zm9vOmJhcg==", "Bearer", "Bearer \x00", strings.Repeat("B", 9000)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := auth.BearerToken(header)
		switch {
		case err != nil:
			if !apperr.Is(err, apperr.Unauthenticated) || tok != "" {
				t.Fatalf("BearerToken(%q) = %q, %v", header, tok, err)
			}
		case header == "":
			if tok != "" {
				t.Fatalf("a token from no header: %q", tok)
			}
		default:
			if tok == "" || tok != strings.TrimSpace(tok) || len(header) > auth.MaxAuthorizationBytes {
				t.Fatalf("BearerToken(%q) = %q", header, tok)
			}
		}
	})
}
