package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
)

// refused checks an answer refused before execution: status, code, and
// that nothing was sent upstream.
func refused(t *testing.T, env *bfftest.Env, r bfftest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %.300s", r.Status, status, r.Raw)
	}
	if len(r.Errors) == 0 || r.Errors[0].Code() != code {
		t.Errorf("want code %s: %.300s", code, r.Raw)
	}
	if n := env.Counter.Total(); n != 0 {
		t.Errorf("%d upstream requests for a refused request: %v", n, env.Counter.Requests())
	}
}

func deepFragmentChain(n int) string {
	var b strings.Builder
	b.WriteString("query Q { ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { featuredProducts { id } ...F%d }\n", i, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { featuredProducts { id } }\n", n)
	return b.String()
}

// TestOperationLimitsRefuseBeforeAnythingRuns sends the documents a public
// endpoint must survive; each is refused with its own code, before
// validation and without an upstream request.
func TestOperationLimitsRefuseBeforeAnythingRuns(t *testing.T) {
	env := startWebWith(t, seed.Sizes{}, nil)
	nested := "{ featuredProducts { id } }"
	for range 20 {
		nested = strings.Replace(nested, "{ id }", "{ id x { id } }", 1)
	}
	aliases := "{ featuredProducts {"
	for i := range 40 {
		aliases += fmt.Sprintf(" a%d: id", i)
	}
	aliases += " } }"
	complexDoc := "{"
	for i := range 5 {
		complexDoc += fmt.Sprintf(" p%d: products(first: 100) { edges { node { id name sku category description imageUrl inStock price { cents currency formatted } } } }", i)
	}
	complexDoc += " }"
	tests := []struct {
		name, query string
		status      int
		code        string
	}{
		{"one field 14,000 times", "{ " + strings.Repeat("featuredProducts { id } ", 14000) + "}", 400, "QUERY_TOO_LARGE"},
		{"100,000 unknown directives", "{ featuredProducts " + strings.Repeat("@x ", 100000) + "{ id } }", 400, "QUERY_TOO_LARGE"},
		{"deep fragment chain", deepFragmentChain(200), 400, ""},
		{"too deep", nested, 400, "QUERY_TOO_DEEP"},
		{"too many aliases", aliases, 400, "TOO_MANY_ALIASES"},
		{"too complex", complexDoc, 400, "QUERY_TOO_COMPLEX"},
		{"does not parse", "{ featuredProducts { id ", 400, "GRAPHQL_PARSE_FAILED"},
		// One response holds the whole answer: a deferred fragment would be
		// null in it and never sent.
		{"@defer", "{ featuredProducts { id ... @defer { name } } }", 400, "DEFER_NOT_SUPPORTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.Counter.Reset()
			r := env.NewClient().Query(t, tt.query, nil)
			if tt.code == "" {
				if r.Status != tt.status || len(r.Errors) == 0 || env.Counter.Total() != 0 {
					t.Errorf("want a refusal with status %d and no upstream request: %d %.300s", tt.status, r.Status, r.Raw)
				}
				return
			}
			refused(t, env, r, tt.status, tt.code)
		})
	}
}

func TestRequestBodiesAreBoundedAndNeverEchoed(t *testing.T) {
	env := startWebWith(t, seed.Sizes{}, nil)
	c := env.NewClient()

	env.Counter.Reset()
	big := fmt.Sprintf(`{"query":"{ featuredProducts { id } }","variables":{"pad":%q}}`, strings.Repeat("x", 1<<20))
	refused(t, env, c.Post(t, []byte(big), "application/json"), 413, "REQUEST_TOO_LARGE")

	small := c.Post(t, []byte(`{"query": "{ x }", oops`), "application/json")
	large := c.Post(t, []byte(`{"query": "`+strings.Repeat("secret-", 70000)+`", oops`), "application/json")
	refused(t, env, small, 400, "BAD_REQUEST")
	refused(t, env, large, 400, "BAD_REQUEST")
	if strings.Contains(string(large.Raw), "secret-") || len(large.Raw) > len(small.Raw)+64 {
		t.Errorf("a malformed body must not be echoed nor grow the answer: %d vs %d bytes", len(large.Raw), len(small.Raw))
	}

	refused(t, env, c.Post(t, []byte(`[{"query":"{ featuredProducts { id } }"},{"query":"{ featuredProducts { id } }"}]`), "application/json"), 400, "BATCHING_DISABLED")
}

func sha(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

func persisted(query, hash string) []byte {
	body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if query != "" {
		body["query"] = query
	}
	b, _ := json.Marshal(body)
	return b
}

func TestAutomaticPersistedQueries(t *testing.T) {
	env := startWebWith(t, seed.Sizes{}, nil)
	c := env.NewClient()
	q := `{ featuredProducts(first: 2) { id name } }`

	env.Counter.Reset()
	miss := c.Post(t, persisted("", sha(q)), "application/json")
	refused(t, env, miss, 200, "PERSISTED_QUERY_NOT_FOUND")

	full := c.Post(t, persisted(q, sha(q)), "application/json")
	if len(full.Errors) > 0 {
		t.Fatalf("registering: %s", full.Raw)
	}
	hit := c.Post(t, persisted("", sha(q)), "application/json")
	if len(hit.Errors) > 0 || string(hit.Data) != string(full.Data) {
		t.Errorf("a hash-only hit must answer like the full document: %s vs %s", hit.Raw, full.Raw)
	}
	env.Counter.Reset()
	refused(t, env, c.Post(t, persisted(q, sha("something else")), "application/json"), 400, "PERSISTED_QUERY_HASH_MISMATCH")
}

func TestTrustedDocumentsModeRunsOnlyTheContract(t *testing.T) {
	env := startWebWith(t, seed.Sizes{}, func(c *config.Config) { c.PersistedQueries.TrustedDocuments = "always" })
	c := env.NewClient()
	if r := c.Op(t, "ProductSearch", map[string]any{"first": 2}); len(r.Errors) > 0 {
		t.Fatalf("a contract document must run: %s", r.Raw)
	}
	doc, _ := env.Ops.Document("ProductSearch")
	hashOnly := c.Post(t, append(persisted("", sha(doc))[:0:0], persisted("", sha(doc))...), "application/json")
	if len(hashOnly.Errors) > 0 {
		t.Errorf("a contract document by hash must run: %s", hashOnly.Raw)
	}
	env.Counter.Reset()
	refused(t, env, c.Query(t, `{ featuredProducts { id } }`, nil), 400, "PERSISTED_QUERY_NOT_ALLOWED")
}

func TestCSRFOnCookieSessions(t *testing.T) {
	env := startWebWith(t, seed.Sizes{}, nil)
	ada := signIn(t, env, "ada@example.com", "ada123")
	query := `{"query":"{ viewer { id } }"}`
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("query", "{ viewer { id } }")
	_ = mw.Close()
	tests := []struct {
		name, method, contentType, body, header string
		allowed                                 bool
	}{
		{"JSON POST", "POST", "application/json", query, "", true},
		{"text/plain POST", "POST", "text/plain", query, "", false},
		{"form POST", "POST", "application/x-www-form-urlencoded", "query=%7B+viewer+%7B+id+%7D+%7D", "", false},
		{"multipart POST", "POST", mw.FormDataContentType(), form.String(), "", false},
		{"GET without a header", "GET", "", "", "", false},
		{"GET with X-Requested-With", "GET", "", "", "X-Requested-With", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := env.URL + "/graphql"
			if tt.method == "GET" {
				url += "?query=%7B+viewer+%7B+id+%7D+%7D"
			}
			req, _ := http.NewRequest(tt.method, url, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.header != "" {
				req.Header.Set(tt.header, "1")
			}
			env.Counter.Reset()
			r := ada.Do(t, req)
			if tt.allowed {
				if r.Status != 200 || !strings.Contains(string(r.Data), "usr_") {
					t.Errorf("want the viewer: %d %s", r.Status, r.Raw)
				}
				return
			}
			refused(t, env, r, 403, "CSRF_REJECTED")
		})
	}
}

func TestCORSAndSecurityHeaders(t *testing.T) {
	const allowed = "https://app.example.com"
	env := startWebWith(t, seed.Sizes{}, func(c *config.Config) { c.HTTP.CORSOrigins = []string{allowed} })
	for origin, want := range map[string]bool{allowed: true, "https://evil.example.com": false} {
		req, _ := http.NewRequest(http.MethodOptions, env.URL+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		gotOrigin := resp.Header.Get("Access-Control-Allow-Origin")
		creds := resp.Header.Get("Access-Control-Allow-Credentials")
		if want && (gotOrigin != allowed || creds != "true") {
			t.Errorf("%s: allow-origin %q credentials %q", origin, gotOrigin, creds)
		}
		if !want && (gotOrigin != "" || creds != "") {
			t.Errorf("%s must get no CORS grant: allow-origin %q credentials %q", origin, gotOrigin, creds)
		}
	}
	resp, err := http.Get(env.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, h := range []string{"X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	page, err := http.Get(env.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src") || strings.Contains(csp, "'unsafe-eval'") {
		t.Errorf("playground CSP %q", csp)
	}
}

// TestRateLimitIsExactAndCostBased lets exactly as many operations through
// as their cost fits in the bucket, under concurrency, and answers the rest
// 429 without an upstream request.
func TestRateLimitIsExactAndCostBased(t *testing.T) {
	env := startWebWith(t, seed.Sizes{}, func(c *config.Config) {
		c.Limits.MaxComplexity = 300
		c.RateLimit.Burst = 300
		c.RateLimit.CostPerSecond = 0.0001
	})
	// Signed in first: the login itself is spent from the address's bucket.
	ada := signIn(t, env, "ada@example.com", "ada123")
	c := env.NewClient()
	const q = `{ product(id: "prd_doesnotexist") { id } }`
	remainingAfter := func(r bfftest.Response) int {
		t.Helper()
		var n int
		if _, err := fmt.Sscan(r.Header.Get("RateLimit-Remaining"), &n); err != nil || r.Status != 200 {
			t.Fatalf("%d, RateLimit-Remaining %q: %s", r.Status, r.Header.Get("RateLimit-Remaining"), r.Raw)
		}
		return n
	}
	before := remainingAfter(c.Query(t, q, nil))
	remaining := remainingAfter(c.Query(t, q, nil))
	cost := before - remaining
	if cost < 1 {
		t.Fatalf("a lookup cost %d", cost)
	}
	const n = 400
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	var limited bfftest.Response
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Query(t, q, nil)
			mu.Lock()
			statuses[r.Status]++
			if r.Status == 429 {
				limited = r
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if want := remaining / cost; statuses[200] != want || statuses[429] != n-want {
		t.Errorf("statuses %v, want exactly %d allowed", statuses, want)
	}
	if limited.Header.Get("Retry-After") == "" || limited.Header.Get("RateLimit-Limit") != "300" || limited.Errors[0].Code() != "RATE_LIMITED" {
		t.Errorf("a refusal needs Retry-After, RateLimit-* and RATE_LIMITED: %v %s", limited.Header, limited.Raw)
	}

	// Another principal has its own bucket; a costly operation spends more.
	small := ada.Query(t, q, nil)
	big := ada.Op(t, "Dashboard", map[string]any{"orders": 10})
	var r1, r2 int
	if _, err := fmt.Sscan(small.Header.Get("RateLimit-Remaining"), &r1); err != nil {
		t.Fatalf("RateLimit-Remaining %q after a lookup (status %d): %v", small.Header.Get("RateLimit-Remaining"), small.Status, err)
	}
	if _, err := fmt.Sscan(big.Header.Get("RateLimit-Remaining"), &r2); err != nil {
		t.Fatalf("RateLimit-Remaining %q after Dashboard (status %d): %v", big.Header.Get("RateLimit-Remaining"), big.Status, err)
	}
	if small.Status != 200 || big.Status != 200 || r1-r2 <= 5*cost {
		t.Errorf("Dashboard must cost far more than a product lookup: %d then %d remaining (lookup costs %d)", r1, r2, cost)
	}
}

func TestLoginAttemptsAreLimitedPerAccount(t *testing.T) {
	env := startWebWith(t, seed.Sizes{}, func(c *config.Config) {
		c.RateLimit.LoginPerAccountPerMinute = 3
		c.RateLimit.LoginPerIPPerMinute = 100
	})
	c := env.NewClient()
	for i := range 3 {
		r := c.Op(t, "Login", map[string]any{"email": "grace@example.com", "password": "wrong"})
		if e, ok := r.ErrorAt("login"); !ok || e.Code() != "UNAUTHENTICATED" {
			t.Fatalf("attempt %d: %s", i+1, r.Raw)
		}
	}
	env.Counter.Reset()
	r := c.Op(t, "Login", map[string]any{"email": "grace@example.com", "password": "grace123"})
	if e, ok := r.ErrorAt("login"); !ok || e.Code() != "RATE_LIMITED" || r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("the 4th attempt: %d %v %s", r.Status, r.Header, r.Raw)
	}
	if n := env.Counter.Of("user"); n != 0 {
		t.Errorf("a limited login reached the user service %d times", n)
	}
	if r := c.Op(t, "Login", map[string]any{"email": "ada@example.com", "password": "ada123"}); len(r.Errors) > 0 {
		t.Errorf("another account is not limited: %s", r.Raw)
	}
}

// TestRefusedDocumentsAreRateLimitedToo: documents the guard refuses cost
// parsing time, so an address is limited in requests before the guard
// runs; once over, it is answered 429 without even being parsed.
func TestRefusedDocumentsAreRateLimitedToo(t *testing.T) {
	env := startWebWith(t, seed.Sizes{}, func(c *config.Config) {
		c.RateLimit.RequestBurstPerAddress = 20
		c.RateLimit.RequestsPerSecondPerAddress = 0.0001
	})
	hostile := "{ " + strings.Repeat("featuredProducts { id } ", 14000) + "}"
	c := env.NewClient()
	statuses := map[int]int{}
	for range 30 {
		statuses[c.Query(t, hostile, nil).Status]++
	}
	if statuses[400] != 20 || statuses[429] != 10 {
		t.Errorf("statuses %v, want 20 refusals by the guard then 10 by the address limit", statuses)
	}
	r := c.Query(t, `{ featuredProducts(first: 1) { id } }`, nil)
	if r.Status != 429 || r.Errors[0].Code() != "RATE_LIMITED" || r.Header.Get("Retry-After") == "" {
		t.Errorf("an address over its limit: %d %s", r.Status, r.Raw)
	}
}
