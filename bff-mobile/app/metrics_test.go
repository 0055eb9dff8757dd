package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/testutil"
)

// TestMetricsOfTheMobileBFF sends the app's Home after a sign-in, and one
// request without the app's key, then reads the mobile BFF's metrics: the
// series carry client="mobile", the operations their own names, and the
// token never shows.
func TestMetricsOfTheMobileBFF(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	ada := signIn(t, env, adaEmail, adaPassword)
	if r := ada.Op(t, "Home", nil); r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("Home: %d %s", r.Status, r.Raw)
	}
	token := strings.TrimPrefix(ada.Header.Get("Authorization"), "Bearer ")

	text := testutil.Metrics(t, env.AdminURL)
	for _, want := range []string{
		`graphql_server_operation_duration_seconds_count{client="mobile",graphql_operation_name="Home",graphql_operation_type="query"} 1`,
		`graphql_server_operation_duration_seconds_count{client="mobile",graphql_operation_name="Login",graphql_operation_type="mutation"} 1`,
		`http_client_request_duration_seconds_count{http_request_method="GET",service="order",status_class="2xx",url_template="/v1/orders"}`,
		`http_client_request_duration_seconds_count{http_request_method="GET",service="product",status_class="2xx",url_template="/v1/products/featured"}`,
		`bff_breaker_state{service="product"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, `client="web"`) {
		t.Error("the mobile BFF labels a series client=\"web\"")
	}
	if strings.Contains(text, "bff_web_sessions") {
		t.Error("the mobile BFF, which has no sessions, exports bff_web_sessions")
	}
	if token == "" || strings.Contains(text, token) || strings.Contains(text, adaEmail) {
		t.Error("/metrics holds Ada's token or email")
	}
}
