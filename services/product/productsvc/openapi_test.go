package productsvc_test

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/acme/bff-gateway/services/product/productsvc"
)

// TestOpenAPIIsValid checks that the served document is a valid OpenAPI 3
// description.
func TestOpenAPIIsValid(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(productsvc.OpenAPI)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is invalid: %v", err)
	}
	for _, path := range []string{
		"/v1/products", "/v1/products/{id}", "/v1/products/featured", "/v1/products/count",
		"/internal/v1/reservations", "/internal/v1/reservations/{id}/release",
		"/healthz", "/readyz", "/openapi.yaml",
	} {
		if doc.Paths.Find(path) == nil {
			t.Errorf("openapi.yaml lacks %s", path)
		}
	}
}
