package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a test that keeps its errors instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

// TestCheckRequestsCatchesAnotherOrigin: a page that loads an image from
// another origin (another loopback server), and breaks its own policy,
// fails the check, which names both.
func TestCheckRequestsCatchesAnotherOrigin(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write([]byte("GIF89a"))
	}))
	defer other.Close()
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/pixel.gif"
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src *; style-src 'self'")
		fmt.Fprintf(w, `<!doctype html><title>t</title><img id="px" src=%q><p style="color: red">x</p>`, otherURL)
	}))
	defer page.Close()

	rec := &recorder{TB: t}
	p := launch(rec, page.URL+"/")
	p.waitJS("the image", `document.getElementById('px')?.complete === true`)
	p.CheckRequests()
	all := strings.Join(rec.errors, "\n")
	if !strings.Contains(all, "the page requested "+otherURL) {
		t.Errorf("the request to %s was not caught; errors:\n%s", otherURL, all)
	}
	if !strings.Contains(all, "Content-Security-Policy violation") || !strings.Contains(all, "style-src") {
		t.Errorf("the inline style's violation was not caught; errors:\n%s", all)
	}
}
