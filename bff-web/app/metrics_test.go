package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/testutil"
)

// TestMetricsOfTheWebBFF sends the web client's operations, a customer's
// try at an admin field, made-up operation names, a persisted query, and a
// document the guard refuses, then reads the BFF's metrics: every series
// the operators' dashboard uses is there with its labels, made-up names
// are all "other", and no id, email or token shows in any label.
func TestMetricsOfTheWebBFF(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	ada := login(t, env, adaEmail, adaPassword)
	wantOK(t, ada.Op(t, "Dashboard", nil))
	// A customer asking for the admin's overview: FORBIDDEN on two fields.
	ada.Op(t, "AdminOverview", nil)
	for i := range 30 {
		ada.Query(t, fmt.Sprintf("query MadeUp%d { featuredProducts(first: 1) { id } }", i), nil)
	}
	anon := env.NewClient()
	const doc = "query Featured { featuredProducts(first: 2) { id name } }"
	hash := guard.Hash(doc)
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
	anon.Post(t, []byte(mustJSON(map[string]any{"extensions": ext})), "application/json")               // miss
	anon.Post(t, []byte(mustJSON(map[string]any{"query": doc, "extensions": ext})), "application/json") // registered
	anon.Post(t, []byte(mustJSON(map[string]any{"extensions": ext})), "application/json")               // hit
	anon.Query(t, "{"+strings.Repeat(" a {", 20)+" b"+strings.Repeat(" }", 21), nil)                    // too deep

	text := testutil.Metrics(t, env.AdminURL)
	for _, want := range []string{
		`graphql_server_operation_duration_seconds_count{client="web",graphql_operation_name="Dashboard",graphql_operation_type="query"} 1`,
		`graphql_server_operation_duration_seconds_count{client="web",graphql_operation_name="Login",graphql_operation_type="mutation"} 1`,
		`graphql_server_operation_duration_seconds_count{client="web",graphql_operation_name="other",graphql_operation_type="query"} 32`, // 30 made up, and Featured (registered, then hit),
		`graphql_server_errors_total{client="web",code="FORBIDDEN",graphql_operation_name="AdminOverview",graphql_operation_type="query"} 2`,
		`http_server_request_duration_seconds_count{http_request_method="POST",http_response_status_code="200",http_route="/graphql"}`,
		`http_client_request_duration_seconds_count{http_request_method="GET",service="user",status_class="2xx",url_template="/v1/users"}`,
		`http_client_request_duration_seconds_count{http_request_method="GET",service="order",status_class="2xx",url_template="/v1/orders"}`,
		`http_client_request_duration_seconds_count{http_request_method="GET",service="product",status_class="2xx",url_template="/v1/products/featured"}`,
		`http_client_request_duration_seconds_count{http_request_method="GET",service="user",status_class="2xx",url_template="/.well-known/jwks.json"}`,
		`bff_breaker_state{service="order"} 0`,
		`bff_product_cache_misses_total{cache="products"}`,
		`bff_product_cache_hits_total{cache="lists"}`,
		`bff_product_cache_entries{cache="products"}`,
		`bff_loader_batch_size_count{loader="products"}`,
		`bff_loader_batch_size_count{loader="users"}`,
		`bff_apq_requests_total{outcome="hit"} 1`,
		`bff_apq_requests_total{outcome="miss"} 1`,
		`bff_apq_requests_total{outcome="registered"} 1`,
		`bff_guard_refusals_total{code="PERSISTED_QUERY_NOT_FOUND"} 1`,
		`bff_guard_refusals_total{code="QUERY_TOO_DEEP"} 1`,
		`bff_rate_limit_refusals_total{kind="login"} 0`,
		`bff_web_sessions 1`,
		`bff_jwks_refreshes_total 1`,
		`bff_jwks_refresh_failures_total 0`,
		"go_goroutines ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics has no %s", want)
			metric, _, _ := strings.Cut(want, "{")
			for _, line := range strings.Split(text, "\n") {
				if strings.HasPrefix(line, metric) {
					t.Log(line)
				}
			}
		}
	}
	if strings.Contains(text, "MadeUp") {
		t.Error("a made-up operation name is a label value")
	}
	for _, leak := range []string{"ada@", "usr_", "ord_", "prd_", "Bearer", "eyJ"} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics shows %q", leak)
		}
	}
}
