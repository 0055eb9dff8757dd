package timezone_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-mobile/timezone"
)

func TestLookup(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Asia/Tokyo", "Asia/Tokyo"},
		{"America/New_York", "America/New_York"},
		{"UTC", "UTC"},
		{"", "UTC"},
		{"Local", "UTC"},
		{"Mars/Olympus_Mons", "UTC"},
		{"../../../etc/passwd", "UTC"},
		{"/etc/localtime", "UTC"},
		{strings.Repeat("Europe/", 20), "UTC"},
	}
	for _, tt := range tests {
		if got := timezone.Lookup(tt.name).String(); got != tt.want {
			t.Errorf("Lookup(%q) = %s, want %s", tt.name, got, tt.want)
		}
	}
	if a, b := timezone.Lookup("Europe/Paris"), timezone.Lookup("Europe/Paris"); a != b {
		t.Error("a zone is loaded again rather than cached")
	}
}

func TestMiddleware(t *testing.T) {
	var got *time.Location
	h := timezone.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = timezone.LocationFromContext(r.Context())
	}))
	for header, want := range map[string]string{"Asia/Tokyo": "Asia/Tokyo", "": "UTC", "Nowhere": "UTC"} {
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		if header != "" {
			req.Header.Set(timezone.Header, header)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got == nil || got.String() != want {
			t.Errorf("X-Timezone %q: location %v, want %s", header, got, want)
		}
	}
	if loc := timezone.LocationFromContext(context.Background()); loc != time.UTC {
		t.Errorf("LocationFromContext without a location = %v, want UTC", loc)
	}
}
