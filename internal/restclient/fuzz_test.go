package restclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/restclient"
)

// FuzzUpstreamAnswers feeds arbitrary answers (status and body) from a
// service to the client: it never panics, a 2xx answer either decodes or
// becomes Unavailable, and any other status becomes a coded error whose
// message does not carry the body.
func FuzzUpstreamAnswers(f *testing.F) {
	f.Add(200, `{"id":"usr_1","email":"a@b"}`)
	f.Add(404, `{"type":"urn:x","title":"Not Found","status":404,"code":"not_found","detail":"user not found"}`)
	f.Add(409, `{"code":"insufficient_stock","shortages":[{"product_id":"prd_a","requested":2,"available":1}]}`)
	f.Add(500, `<html>oops</html>`)
	f.Add(200, `{"id":`)
	f.Add(503, ``)
	f.Add(422, `{"code":12}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 200 || status > 599 {
			return
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		defer srv.Close()
		c, err := restclient.New("user", srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		}
		err = c.Do(context.Background(), restclient.Request{Method: http.MethodGet, Path: "/x"}, &out)
		if status >= 200 && status < 300 {
			if err != nil && !apperr.Is(err, apperr.Unavailable) {
				t.Fatalf("2xx answer gave %v", err)
			}
			return
		}
		e, ok := apperr.As(err)
		if !ok || e.Code == "" {
			t.Fatalf("status %d gave an uncoded error %v", status, err)
		}
		if len(body) > 20 && strings.Contains(e.Error(), body) {
			t.Fatalf("the error echoes the body: %v", e)
		}
	})
}
