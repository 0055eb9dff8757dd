package ordersvc_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/testutil"
)

// TestAdminListenerServesTheOrderServicesMetrics places and cancels an
// order, then reads the admin listener: the HTTP R.E.D. series by route
// template, the orders counted, the calls to the product service by URL
// template, the database's calls, the Go runtime; and no raw id in any of
// it. The public port has no /metrics.
func TestAdminListenerServesTheOrderServicesMetrics(t *testing.T) {
	e := newEnv(t)
	items := []contract.ReservationItem{{ProductID: e.productsWithStock(t, 1, 5)[0].ID, Quantity: 1}}
	o := e.mustPlace(t, e.ada, contract.PlaceOrderRequest{UserID: adaID, Items: items})
	if a := e.call(t, http.MethodPost, "/v1/orders/"+o.ID+"/cancel", e.ada, nil, nil); a.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", a.Status, a.Body)
	}
	e.call(t, http.MethodGet, "/v1/orders/"+o.ID, e.ada, nil, nil)

	text := testutil.Metrics(t, e.stack.Order.AdminURL)
	for _, want := range []string{
		`http_server_request_duration_seconds_count{http_request_method="POST",http_response_status_code="201",http_route="/v1/orders"} 1`,
		`http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/v1/orders/{id}"} 1`,
		`http_server_request_duration_seconds_count{http_request_method="POST",http_response_status_code="200",http_route="/v1/orders/{id}/cancel"} 1`,
		"orders_placed_total 1",
		"orders_cancelled_total 1",
		`orders_refused_total{reason="insufficient_stock"} 0`,
		`http_client_request_duration_seconds_count{http_request_method="POST",service="product",status_class="2xx",url_template="/internal/v1/reservations"} 1`,
		`http_client_request_duration_seconds_count{http_request_method="POST",service="product",status_class="2xx",url_template="/internal/v1/reservations/{id}/release"} 1`,
		"db_client_operation_duration_seconds_count{",
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	if strings.Contains(text, o.ID) || strings.Contains(text, "ord_") || strings.Contains(text, "Bearer") {
		t.Error("/metrics shows an id or a credential")
	}

	resp, err := http.Get(e.stack.Order.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the public port answers /metrics with %d, want 404", resp.StatusCode)
	}
}

// TestMetricsInOpenMetricsWhenAskedFor asks the admin listener for the
// OpenMetrics format.
func TestMetricsInOpenMetricsWhenAskedFor(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodGet, e.stack.Order.AdminURL+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") || !strings.HasSuffix(strings.TrimSpace(string(b)), "# EOF") {
		t.Errorf("Content-Type %q, body ending %q", ct, string(b[max(0, len(b)-20):]))
	}
}
