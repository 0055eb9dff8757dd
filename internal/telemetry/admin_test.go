package telemetry

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestAdminHandlerMetrics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		accept          string
		wantContentType string
		wantEOF         bool
	}{
		{"Prometheus text", "", "text/plain; version=0.0.4", false},
		{"OpenMetrics when asked", "application/openmetrics-text; version=1.0.0", "application/openmetrics-text; version=1.0.0", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tel := NewNoop("svc")
			// A request served makes the server histogram a series of the page.
			tel.Server(func(*http.Request) string { return "GET /v1/orders" })(http.NotFoundHandler()).
				ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/orders", nil))

			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			w := httptest.NewRecorder()
			tel.AdminHandler(false).ServeHTTP(w, req)
			body := w.Body.String()
			if w.Code != http.StatusOK {
				t.Fatalf("GET /metrics answered %d: %s", w.Code, body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, c.wantContentType) {
				t.Errorf("Content-Type %q, want %s…", ct, c.wantContentType)
			}
			for _, re := range []string{
				`(?m)^go_goroutines \d+`,
				`(?m)^process_[a-z_]+(\{[^}]*\})? \S+`,
				`(?m)^http_server_request_duration_seconds_count\{http_request_method="GET",http_response_status_code="404",http_route="/v1/orders"\} 1$`,
			} {
				if !regexp.MustCompile(re).MatchString(body) {
					t.Errorf("/metrics has no line matching %s:\n%s", re, body)
				}
			}
			if got := strings.HasSuffix(body, "# EOF\n"); got != c.wantEOF {
				t.Errorf("body ends with # EOF: %v, want %v", got, c.wantEOF)
			}
		})
	}
}

func TestAdminHandlerRoutes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		profiling bool
		method    string
		target    string
		want      int
	}{
		{"metrics", false, http.MethodGet, "/metrics", http.StatusOK},
		{"metrics HEAD", false, http.MethodHead, "/metrics", http.StatusOK},
		{"metrics POST", false, http.MethodPost, "/metrics", http.StatusMethodNotAllowed},
		{"metrics POST, profiling", true, http.MethodPost, "/metrics", http.StatusMethodNotAllowed},
		{"pprof index off", false, http.MethodGet, "/debug/pprof/", http.StatusNotFound},
		{"pprof cmdline off", false, http.MethodGet, "/debug/pprof/cmdline", http.StatusNotFound},
		{"pprof goroutine off", false, http.MethodGet, "/debug/pprof/goroutine", http.StatusNotFound},
		{"pprof index on", true, http.MethodGet, "/debug/pprof/", http.StatusOK},
		{"pprof cmdline on", true, http.MethodGet, "/debug/pprof/cmdline", http.StatusOK},
		{"pprof goroutine on", true, http.MethodGet, "/debug/pprof/goroutine?debug=1", http.StatusOK},
		{"pprof POST", true, http.MethodPost, "/debug/pprof/", http.StatusMethodNotAllowed},
		{"anything else", true, http.MethodGet, "/", http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			NewNoop("svc").AdminHandler(c.profiling).ServeHTTP(w, httptest.NewRequest(c.method, c.target, nil))
			if w.Code != c.want {
				t.Errorf("%s %s (profiling %v) answered %d, want %d", c.method, c.target, c.profiling, w.Code, c.want)
			}
			if c.want == http.StatusMethodNotAllowed && !strings.Contains(w.Header().Get("Allow"), http.MethodGet) {
				t.Errorf("405 with Allow %q, want GET in it", w.Header().Get("Allow"))
			}
			if c.target == "/debug/pprof/" && c.want == http.StatusOK && !strings.Contains(w.Body.String(), "goroutine") {
				t.Errorf("pprof index without the goroutine profile:\n%s", w.Body.String())
			}
		})
	}
}
