package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-mobile/app"
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/httpserver"
	"github.com/acme/bff-gateway/internal/seed"
)

// The protections in front of the mobile BFF's /graphql, end to end: API
// key and bearer token, the GraphQL guard (trusted documents, APQ, size and
// cost limits), the per-principal rate limit and the login limits. Every
// refusal is checked to have made no upstream request.

// sha256Hex is the sha256Hash a client sends for text.
func sha256Hex(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// mustJSON encodes v.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// queryBody is a request with the document's text.
func queryBody(query string, vars map[string]any) []byte {
	return mustJSON(map[string]any{"query": query, "variables": vars})
}

// hashOnlyBody is a persisted-query request that names its document by
// hash only, with no query.
func hashOnlyBody(hash string, vars map[string]any) []byte {
	return mustJSON(map[string]any{"variables": vars, "extensions": persistedExt(1, hash)})
}

// hashAndQueryBody is an APQ registration: the text with its hash.
func hashAndQueryBody(query, hash string, vars map[string]any) []byte {
	return mustJSON(map[string]any{"query": query, "variables": vars, "extensions": persistedExt(1, hash)})
}

func persistedExt(version int, hash string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": version, "sha256Hash": hash}}
}

// wantRefusal checks that r is a refusal with status and one error coded
// code.
func wantRefusal(t testing.TB, r bfftest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %.300s", r.Status, status, r.Raw)
	}
	if len(r.Errors) != 1 || r.Errors[0].Code() != code {
		t.Errorf("want one error coded %s: %.300s", code, r.Raw)
	}
}

// withoutUpstream runs send and checks that it made no upstream request.
func withoutUpstream(t testing.TB, env *bfftest.Env, send func() bfftest.Response) bfftest.Response {
	t.Helper()
	env.Counter.Reset()
	r := send()
	if n := env.Counter.Total(); n != 0 {
		t.Errorf("%d upstream requests, want none: %v", n, env.Counter.Requests())
	}
	return r
}

// post sends body to /graphql with header and decodes the answer. It takes
// no testing.T, so goroutines may call it.
func post(env *bfftest.Env, header http.Header, body []byte) (bfftest.Response, error) {
	req, err := http.NewRequest(http.MethodPost, env.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		return bfftest.Response{}, err
	}
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return bfftest.Response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return bfftest.Response{}, err
	}
	out := bfftest.Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("answer is not JSON (%d): %.300s", resp.StatusCode, raw)
	}
	return out, nil
}

// get GETs path on the BFF and returns the status and body.
func get(t testing.TB, env *bfftest.Env, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(env.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// An ad-hoc document: not one of the app's.
const adHocProduct = `{ product(id: "prd_x") { id } }`

// TestTrustedDocumentsInProduction runs the BFF in production mode, where
// trusted documents apply by default: each of the app's documents runs by
// its exact text and by its hash alone, and nothing else runs.
func TestTrustedDocumentsInProduction(t *testing.T) {
	t.Parallel()
	env := startMobileWith(t, bfftest.InProduction)
	if !env.Config.TrustedOnly() {
		t.Fatalf("production mode with trusted_documents %q does not restrict to trusted documents", env.Config.PersistedQueries.TrustedDocuments)
	}
	token := env.Stack.Token(t, adaEmail, adaPassword)
	all := rest[contract.ProductPage](t, token, env.Stack.Product.URL+"/v1/products?limit=100")
	var product *contract.Product
	for i, p := range all.Products {
		if p.Stock >= 2 {
			product = &all.Products[i]
			break
		}
	}
	if product == nil {
		t.Fatal("the seed has no product with 2 in stock")
	}
	ada := signIn(t, env, adaEmail, adaPassword) // Login by its text
	anon := appClient(env)

	contract := []struct {
		name  string
		c     *bfftest.Client
		vars  func(via string) map[string]any
		check func(t *testing.T, r bfftest.Response)
	}{
		{"Home", ada, func(string) map[string]any { return nil }, func(t *testing.T, r bfftest.Response) {
			h := bfftest.Decode[homeData](t, r).Home
			if h == nil || h.Greeting == nil || !strings.HasSuffix(*h.Greeting, ", Ada") || len(h.RecentOrders) != 3 || len(h.Featured) == 0 {
				t.Errorf("Home is not Ada's home screen: %s", r.Raw)
			}
		}},
		{"Login", anon, func(string) map[string]any {
			return map[string]any{"email": adaEmail, "password": adaPassword}
		}, func(t *testing.T, r bfftest.Response) {
			l := bfftest.Decode[loginData](t, r).Login
			if l == nil || l.Token == "" || l.User.ID != seed.UserID(1) {
				t.Errorf("Login did not sign Ada in: %s", r.Raw)
			}
		}},
		{"OrderList", ada, func(string) map[string]any { return map[string]any{"first": 2} }, func(t *testing.T, r bfftest.Response) {
			o := bfftest.Decode[orderListData](t, r).MyOrders
			if o == nil || len(o.Items) != 2 || o.Items[0].ID == "" {
				t.Errorf("OrderList did not list two of Ada's orders: %s", r.Raw)
			}
		}},
		{"PlaceOrder", ada, func(via string) map[string]any {
			return map[string]any{"items": []line{{product.ID, 1}}, "idempotencyKey": "trusted-by-" + via}
		}, func(t *testing.T, r bfftest.Response) {
			p := bfftest.Decode[placeOrderData](t, r).PlaceOrder
			if p == nil || p.Order == nil || p.Order.ID == "" || len(p.UserErrors) > 0 {
				t.Errorf("PlaceOrder placed no order: %s", r.Raw)
			}
		}},
		{"Product", anon, func(string) map[string]any { return map[string]any{"id": product.ID} }, func(t *testing.T, r bfftest.Response) {
			p := bfftest.Decode[productData](t, r).Product
			if p == nil || p.ID != product.ID || p.Name != product.Name || p.PriceFormatted != usd(product.PriceCents) {
				t.Errorf("product %s, want %s %q: %s", product.ID, product.ID, product.Name, r.Raw)
			}
		}},
	}
	var names []string
	for _, op := range contract {
		names = append(names, op.name)
	}
	if !slices.Equal(names, mobileOperations) {
		t.Fatalf("the test covers %v, the contract is %v", names, mobileOperations)
	}
	for _, via := range []string{"text", "hash"} {
		for _, op := range contract {
			t.Run(op.name+" by "+via, func(t *testing.T) {
				vars := op.vars(via)
				var r bfftest.Response
				if via == "text" {
					r = op.c.Op(t, op.name, vars)
				} else {
					doc, err := env.Ops.Document(op.name)
					if err != nil {
						t.Fatal(err)
					}
					r = op.c.Post(t, hashOnlyBody(sha256Hex(doc), vars), "application/json")
				}
				if r.Status != http.StatusOK || len(r.Errors) > 0 {
					t.Fatalf("%s by %s: %d %s", op.name, via, r.Status, r.Raw)
				}
				op.check(t, r)
			})
		}
	}

	home, err := env.Ops.Document("Home")
	if err != nil {
		t.Fatal(err)
	}
	productDoc, err := env.Ops.Document("Product")
	if err != nil {
		t.Fatal(err)
	}
	productVars := map[string]any{"id": product.ID}
	refused := []struct {
		name string
		c    *bfftest.Client
		body []byte
	}{
		{"an ad-hoc query", ada, queryBody(adHocProduct, nil)},
		{"the Home document reformatted", ada, queryBody(strings.ReplaceAll(home, "\n", "\n  "), nil)},
		{"the Home document on one line", ada, queryBody("query Home { home { greeting } }", nil)},
		{"the Product document with one more field", anon, queryBody(strings.Replace(productDoc, "inStock", "inStock thumbnailUrl", 1), productVars)},
		{"the hash of an ad-hoc query", anon, hashOnlyBody(sha256Hex(adHocProduct), nil)},
		{"an ad-hoc query with its hash (an APQ registration)", anon, hashAndQueryBody(adHocProduct, sha256Hex(adHocProduct), nil)},
		{"the hash of that query again", anon, hashOnlyBody(sha256Hex(adHocProduct), nil)},
		{"introspection", anon, queryBody(`{ __schema { types { name } } }`, nil)},
		{"introspection of a type", anon, queryBody(`{ __type(name: "Product") { fields { name } } }`, nil)},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			r := withoutUpstream(t, env, func() bfftest.Response { return tt.c.Post(t, tt.body, "application/json") })
			wantRefusal(t, r, http.StatusBadRequest, "PERSISTED_QUERY_NOT_ALLOWED")
			if !isNullData(r.Data) {
				t.Errorf("a refusal with data: %s", r.Raw)
			}
		})
	}
	t.Run("refuses an ad-hoc query by GET", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, env.URL+"/graphql?query="+url.QueryEscape(adHocProduct), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := withoutUpstream(t, env, func() bfftest.Response { return anon.Do(t, req) })
		wantRefusal(t, r, http.StatusBadRequest, "PERSISTED_QUERY_NOT_ALLOWED")
	})
	t.Run("no playground", func(t *testing.T) {
		if status, body := get(t, env, "/"); status != http.StatusNotFound {
			t.Errorf("GET / in production: %d %.200s, want 404", status, body)
		}
	})
}

func isNullData(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// TestProductionHidesIntrospectionWithoutTrustedDocuments: with trusted
// documents off, production mode still answers no introspection.
func TestProductionHidesIntrospectionWithoutTrustedDocuments(t *testing.T) {
	t.Parallel()
	env := startMobileWith(t, func(c *config.Config) {
		bfftest.InProduction(c)
		c.PersistedQueries.TrustedDocuments = "off"
	})
	c := appClient(env)
	for _, q := range []string{`{ __schema { types { name } } }`, `{ __type(name: "Product") { fields { name } } }`} {
		r := withoutUpstream(t, env, func() bfftest.Response { return c.Query(t, q, nil) })
		if strings.Contains(string(r.Data), `"name"`) || len(r.Errors) == 0 {
			t.Errorf("%s in production: %d %s, want no schema and an error", q, r.Status, r.Raw)
		}
		t.Logf("%s in production without trusted documents: %d %s", q, r.Status, r.Raw)
	}
	// An ad-hoc query runs: trusted documents are off.
	r := c.Query(t, `{ product(id: "`+seed.ProductID(0)+`") { id } }`, nil)
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), seed.ProductID(0)) {
		t.Errorf("ad-hoc query with trusted documents off: %s", r.Raw)
	}
	if status, _ := get(t, env, "/"); status != http.StatusNotFound {
		t.Errorf("GET / in production: %d, want 404", status)
	}
}

// TestDevelopmentMode: ad-hoc documents, introspection, the playground and
// automatic persisted queries (APQ, Apollo's protocol).
func TestDevelopmentMode(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	if env.Config.Production() || env.Config.TrustedOnly() {
		t.Fatalf("the default configuration is production or trusted-only: %+v", env.Config.PersistedQueries)
	}
	c := appClient(env)
	id := seed.ProductID(0)

	t.Run("an ad-hoc query runs", func(t *testing.T) {
		r := c.Query(t, `{ product(id: "`+id+`") { id name } }`, nil)
		if r.Status != http.StatusOK || len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"id":"`+id+`"`) {
			t.Errorf("ad-hoc query: %d %s", r.Status, r.Raw)
		}
	})
	t.Run("introspection runs", func(t *testing.T) {
		r := c.Query(t, `{ __schema { queryType { name } } }`, nil)
		if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"name":"Query"`) {
			t.Errorf("introspection: %s", r.Raw)
		}
	})
	t.Run("the playground is served", func(t *testing.T) {
		if status, body := get(t, env, "/"); status != http.StatusOK || !strings.Contains(body, "<html") {
			t.Errorf("GET /: %d %.200s", status, body)
		}
	})

	t.Run("APQ", func(t *testing.T) {
		query := `query ProductName($id: ID!) { product(id: $id) { id name } }`
		hash := sha256Hex(query)
		vars := map[string]any{"id": id}
		var registered json.RawMessage
		steps := []struct {
			name   string
			body   []byte
			status int
			code   string // empty: an answer with the product
		}{
			{"an unknown hash alone is not found", hashOnlyBody(hash, vars), http.StatusOK, "PERSISTED_QUERY_NOT_FOUND"},
			{"a query with another's hash is refused", hashAndQueryBody(query, sha256Hex(query+" "), vars), http.StatusBadRequest, "PERSISTED_QUERY_HASH_MISMATCH"},
			{"a version other than 1 is refused", mustJSON(map[string]any{"variables": vars, "extensions": persistedExt(2, hash)}), http.StatusBadRequest, "PERSISTED_QUERY_NOT_SUPPORTED"},
			{"the mismatch registered nothing", hashOnlyBody(hash, vars), http.StatusOK, "PERSISTED_QUERY_NOT_FOUND"},
			{"hash and query register and answer", hashAndQueryBody(query, hash, vars), http.StatusOK, ""},
			{"the hash alone now answers the same", hashOnlyBody(hash, vars), http.StatusOK, ""},
			{"the hash in upper case too", hashOnlyBody(strings.ToUpper(hash), vars), http.StatusOK, ""},
		}
		for _, s := range steps {
			// In order: each step depends on the ones before.
			t.Run(s.name, func(t *testing.T) {
				if s.code != "" {
					r := withoutUpstream(t, env, func() bfftest.Response { return c.Post(t, s.body, "application/json") })
					wantRefusal(t, r, s.status, s.code)
					return
				}
				r := c.Post(t, s.body, "application/json")
				if r.Status != s.status || len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"id":"`+id+`"`) {
					t.Fatalf("%d %s, want the product", r.Status, r.Raw)
				}
				if registered == nil {
					registered = r.Data
				} else if !bytes.Equal(r.Data, registered) {
					t.Errorf("data %s, want %s as when registered", r.Data, registered)
				}
			})
		}
	})
}

// TestGuardRefusesBeforeUpstream sends hostile requests; each is refused
// with its code before anything goes upstream: without a key before the
// body is even parsed.
func TestGuardRefusesBeforeUpstream(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)

	// 14,000 fields under one root field: within the token limit, over
	// the complexity limit.
	fields14k := `{ product(id: "prd_x") { ` + strings.Repeat("id ", 14000) + `} }`
	// 4,000 repeated fields: within complexity, but quadratic to validate.
	fields4k := `{ product(id: "prd_x") { ` + strings.Repeat("id ", 4000) + `} }`
	directives := `{ __typename ` + strings.Repeat("@x ", 100000) + `}`
	var chain strings.Builder
	chain.WriteString(`query { product(id: "prd_x") { ...F0 } }`)
	for i := range 200 {
		if i < 199 {
			fmt.Fprintf(&chain, " fragment F%d on Product { ...F%d }", i, i+1)
		} else {
			fmt.Fprintf(&chain, " fragment F%d on Product { id }", i)
		}
	}
	cycle := `query { product(id: "prd_x") { ...A } } fragment A on Product { id ...B } fragment B on Product { name ...A }`
	deep := "id"
	for range 19 {
		deep = "a { " + deep + " }"
	}
	deep = `{ product(id: "prd_x") { ` + deep + ` } }` // 20 levels
	var aliases strings.Builder
	aliases.WriteString(`{ product(id: "prd_x") {`)
	for i := range 40 {
		fmt.Fprintf(&aliases, " a%d: id", i)
	}
	aliases.WriteString(" } }")
	rootFields := `{ ` + strings.Repeat("__typename ", 21) + `}`
	overMiB := queryBody("{ __typename }"+strings.Repeat(" ", 1<<20), nil)

	tests := []struct {
		name   string
		noKey  bool
		auth   string // Authorization header
		body   []byte
		status int
		code   string
	}{
		{"no key, 14,000 fields", true, "", queryBody(fields14k, nil), http.StatusUnauthorized, "INVALID_API_KEY"},
		{"no key, 100,000 directives", true, "", queryBody(directives, nil), http.StatusUnauthorized, "INVALID_API_KEY"},
		{"no key, a body over 1 MiB", true, "", overMiB, http.StatusUnauthorized, "INVALID_API_KEY"},
		{"no key, malformed JSON", true, "", []byte(`{"query": "`), http.StatusUnauthorized, "INVALID_API_KEY"},
		{"14,000 fields", false, "", queryBody(fields14k, nil), http.StatusBadRequest, "QUERY_TOO_COMPLEX"},
		{"4,000 repeated fields", false, "", queryBody(fields4k, nil), http.StatusBadRequest, "TOO_MANY_REPEATED_FIELDS"},
		{"100,000 unknown directives", false, "", queryBody(directives, nil), http.StatusBadRequest, "QUERY_TOO_LARGE"},
		{"a 200-deep fragment chain", false, "", queryBody(chain.String(), nil), http.StatusBadRequest, "TOO_MANY_FRAGMENT_SPREADS"},
		{"a fragment cycle", false, "", queryBody(cycle, nil), http.StatusBadRequest, "FRAGMENT_CYCLE"},
		{"depth 20", false, "", queryBody(deep, nil), http.StatusBadRequest, "QUERY_TOO_DEEP"},
		{"40 aliases", false, "", queryBody(aliases.String(), nil), http.StatusBadRequest, "TOO_MANY_ALIASES"},
		{"21 root fields", false, "", queryBody(rootFields, nil), http.StatusBadRequest, "TOO_MANY_ROOT_FIELDS"},
		{"a JSON array", false, "", []byte(`[{"query":"{ __typename }"},{"query":"{ __typename }"}]`), http.StatusBadRequest, "BATCHING_DISABLED"},
		{"a body over 1 MiB", false, "", overMiB, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE"},
		{"a syntax error", false, "", queryBody(`{ product(id: "prd_x") { id }`, nil), http.StatusBadRequest, "GRAPHQL_PARSE_FAILED"},
		{"a 16 KiB Authorization header, 14,000 fields", false, "Bearer " + strings.Repeat("a", 16<<10), queryBody(fields14k, nil), http.StatusUnauthorized, "UNAUTHENTICATED"},
	}
	for _, tt := range tests {
		// Not in parallel: each counts the environment's upstream requests.
		t.Run(tt.name, func(t *testing.T) {
			c := env.NewClient()
			if !tt.noKey {
				c.Header.Set(authn.APIKeyHeader, apikey.DevKey)
			}
			if tt.auth != "" {
				c.Header.Set("Authorization", tt.auth)
			}
			start := time.Now()
			r := withoutUpstream(t, env, func() bfftest.Response { return c.Post(t, tt.body, "application/json") })
			elapsed := time.Since(start)
			wantRefusal(t, r, tt.status, tt.code)
			if elapsed > time.Second {
				t.Errorf("refused in %s, want well under a second", elapsed)
			}
		})
	}

	t.Run("a 16 KiB Authorization header", func(t *testing.T) {
		c := appClient(env)
		c.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 16<<10))
		start := time.Now()
		r := withoutUpstream(t, env, func() bfftest.Response { return c.Op(t, "Product", map[string]any{"id": seed.ProductID(0)}) })
		wantRefusal(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Errorf("refused in %s, want well under a second", elapsed)
		}
	})

	t.Run("malformed JSON is not echoed", func(t *testing.T) {
		c := appClient(env)
		// The same request id, so that the two answers may be compared
		// byte for byte.
		c.Header.Set("X-Request-ID", "malformed-json")
		const prefix = `{"query": "{ product(id: \"`
		malformed := func(size int) []byte { return []byte(prefix + strings.Repeat("z", size-len(prefix))) }
		small, large := malformed(100), malformed(500<<10)
		var answers []bfftest.Response
		for _, body := range [][]byte{small, large} {
			r := withoutUpstream(t, env, func() bfftest.Response { return c.Post(t, body, "application/json") })
			wantRefusal(t, r, http.StatusBadRequest, "BAD_REQUEST")
			if bytes.Contains(r.Raw, []byte("zzzzzzzz")) || bytes.Contains(r.Raw, []byte("product(")) {
				t.Errorf("the answer quotes the body: %.300s", r.Raw)
			}
			answers = append(answers, r)
		}
		if !bytes.Equal(answers[0].Raw, answers[1].Raw) {
			t.Errorf("the answers differ with the body's size (%d and %d bytes):\n%s\n%.500s",
				len(answers[0].Raw), len(answers[1].Raw), answers[0].Raw, answers[1].Raw)
		}
	})

	// httptest.NewServer (bfftest) leaves http.Server.MaxHeaderBytes at
	// net/http's default of 1 MiB, so the 64 KiB cap is tested on the
	// server the BFF really runs on: httpserver.Listen, as bff.Run uses it.
	t.Run("a header block over 64 KiB on the real server", func(t *testing.T) {
		logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
		h, err := app.New(bff.Options{Kind: config.Mobile, Config: env.Config, Logger: logger, Transport: env.Counter})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := httpserver.Listen(t.Context(), "127.0.0.1:0", h, httpserver.Timeouts{}, logger)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
		send := func(padding int) (int, string) {
			req, err := http.NewRequest(http.MethodPost, srv.URL()+"/graphql",
				bytes.NewReader(queryBody(`{ product(id: "`+seed.ProductID(0)+`") { id } }`, nil)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(authn.APIKeyHeader, apikey.DevKey)
			for i := 0; padding > 0; i++ {
				n := min(padding, 4<<10)
				req.Header.Set("X-Padding-"+strconv.Itoa(i), strings.Repeat("p", n))
				padding -= n
			}
			resp, err := (&http.Client{}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if status, body := send(32 << 10); status != http.StatusOK {
			t.Errorf("32 KiB of headers: %d %.200s, want 200", status, body)
		}
		env.Counter.Reset()
		if status, body := send(80 << 10); status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("80 KiB of headers: %d %.200s, want 431", status, body)
		}
		if n := env.Counter.Total(); n != 0 {
			t.Errorf("%d upstream requests, want none: %v", n, env.Counter.Requests())
		}
	})
}

// TestRateLimitPerPrincipal gives every principal a bucket of burst cost
// units that practically never refills: a signed-in user's operations spend
// their complexity from the user's bucket until it is empty, then are
// refused, while other principals' buckets are untouched.
func TestRateLimitPerPrincipal(t *testing.T) {
	t.Parallel()
	const burst = 200
	env := startMobileWith(t, func(c *config.Config) {
		c.RateLimit.Enabled = true
		c.RateLimit.CostPerSecond = 0.001 // one unit in about 17 minutes
		c.RateLimit.Burst = burst
		c.Limits.MaxComplexity = burst
	})
	productVars := map[string]any{"id": seed.ProductID(0)}
	productDoc, err := env.Ops.Document("Product")
	if err != nil {
		t.Fatal(err)
	}
	productBody := queryBody(productDoc, productVars)

	ada := signIn(t, env, adaEmail, adaPassword)
	grace := signIn(t, env, graceEmail, gracePassword)
	anon := appClient(env) // keyed, anonymous: the API key's bucket (the logins spent from it too)

	allowed := func(t *testing.T, r bfftest.Response) int {
		t.Helper()
		if r.Status != http.StatusOK || len(r.Errors) > 0 {
			t.Fatalf("want an answer: %d %.300s", r.Status, r.Raw)
		}
		if got := r.Header.Get("RateLimit-Limit"); got != strconv.Itoa(burst) {
			t.Errorf("RateLimit-Limit %q, want %d", got, burst)
		}
		n, err := strconv.Atoi(r.Header.Get("RateLimit-Remaining"))
		if err != nil {
			t.Fatalf("RateLimit-Remaining %q: %v", r.Header.Get("RateLimit-Remaining"), err)
		}
		return n
	}

	anonBefore := allowed(t, anon.Op(t, "Product", productVars))

	// Ada's first lookup tells what one costs: the product field and its
	// six fields.
	first := allowed(t, ada.Op(t, "Product", productVars))
	cost := burst - first
	if cost != 7 {
		t.Errorf("a Product lookup costs %d, want 7 (product and its 6 fields)", cost)
	}
	if cost < 1 {
		t.Fatalf("cost %d", cost)
	}
	fit := burst / cost // lookups the bucket holds, the first one included
	left := burst - fit*cost

	// Twice as many again, at once: exactly fit-1 more get through.
	n := 2 * fit
	answers := make([]bfftest.Response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i], errs[i] = post(env, ada.Header, productBody) })
	}
	wg.Wait()
	ok, limited := 1, 0
	remaining := map[int]bool{first: true}
	for i, r := range answers {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		switch r.Status {
		case http.StatusOK:
			ok++
			remaining[allowed(t, r)] = true
			if p := bfftest.Decode[productData](t, r).Product; p == nil || p.ID != seed.ProductID(0) {
				t.Errorf("an allowed lookup without the product: %s", r.Raw)
			}
		case http.StatusTooManyRequests:
			limited++
			wantRateLimited(t, r, burst, left)
		default:
			t.Errorf("status %d: %.300s", r.Status, r.Raw)
		}
	}
	if ok != fit || limited != n-(fit-1) {
		t.Errorf("%d allowed and %d refused of %d lookups, want %d allowed (%d/%d) and %d refused",
			ok, limited, n+1, fit, burst, cost, n-(fit-1))
	}
	// Each allowed take left one fewer lookup's worth: no two were
	// counted against the same tokens.
	var want []int
	for k := 1; k <= fit; k++ {
		want = append(want, burst-k*cost)
	}
	if got := slices.Sorted(maps.Keys(remaining)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("RateLimit-Remaining of the allowed lookups %v, want each of %v once", got, want)
	}

	t.Run("refused without upstream requests", func(t *testing.T) {
		for _, op := range []string{"Product", "Home"} {
			var vars map[string]any
			if op == "Product" {
				vars = productVars
			}
			r := withoutUpstream(t, env, func() bfftest.Response { return ada.Op(t, op, vars) })
			wantRateLimited(t, r, burst, left)
		}
	})

	t.Run("another user has their own bucket, and Home costs more", func(t *testing.T) {
		afterProduct := allowed(t, grace.Op(t, "Product", productVars))
		if afterProduct != burst-cost {
			t.Errorf("Grace's first lookup left %d, want %d: her bucket is not her own", afterProduct, burst-cost)
		}
		afterHome := allowed(t, grace.Op(t, "Home", nil))
		homeCost := afterProduct - afterHome
		// home, greeting, recentOrders, 3 × 5 order fields, featured,
		// 6 × 4 product fields.
		if homeCost <= cost || homeCost != 43 {
			t.Errorf("Home spent %d, a Product lookup %d; want Home to spend 43", homeCost, cost)
		}
	})

	t.Run("the keyed anonymous client has its own bucket", func(t *testing.T) {
		if got := allowed(t, anon.Op(t, "Product", productVars)); got != anonBefore-cost {
			t.Errorf("the anonymous lookup left %d, want %d", got, anonBefore-cost)
		}
	})
}

// wantRateLimited checks a 429 refusal of the operation rate limit.
func wantRateLimited(t testing.TB, r bfftest.Response, limit, remaining int) {
	t.Helper()
	wantRefusal(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want whole seconds, at least 1", r.Header.Get("Retry-After"))
	}
	if got := r.Header.Get("RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("RateLimit-Limit %q, want %d", got, limit)
	}
	if got := r.Header.Get("RateLimit-Remaining"); got != strconv.Itoa(remaining) {
		t.Errorf("RateLimit-Remaining %q, want %d", got, remaining)
	}
	if s, err := strconv.Atoi(r.Header.Get("RateLimit-Reset")); err != nil || s < 1 {
		t.Errorf("RateLimit-Reset %q, want whole seconds until the bucket is full", r.Header.Get("RateLimit-Reset"))
	}
}

// TestLoginAttemptsAreLimited signs in from one address until the limit per
// account, or per address, refuses: with 429, RATE_LIMITED and nothing sent
// to the user service.
func TestLoginAttemptsAreLimited(t *testing.T) {
	t.Parallel()
	const (
		signedIn = "signed in"
		wrong    = "wrong credentials"
		limited  = "limited"
	)
	type attempt struct{ email, password, want string }
	tests := []struct {
		name              string
		perIP, perAccount int
		attempts          []attempt
	}{
		{"per account", 100, 3, []attempt{
			{adaEmail, adaPassword, signedIn},
			{adaEmail, "not-ada123", wrong},
			{" ADA@example.com ", "not-ada123", wrong}, // the same account
			{adaEmail, "not-ada123", limited},
			{adaEmail, adaPassword, limited}, // the right password too
			{graceEmail, gracePassword, signedIn},
		}},
		{"per address", 3, 100, []attempt{
			{adaEmail, adaPassword, signedIn},
			{graceEmail, gracePassword, signedIn},
			{"nobody@example.com", "secret", wrong},
			{"someone@example.com", "secret", limited},
			{adaEmail, adaPassword, limited},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := startMobileWith(t, func(c *config.Config) {
				c.RateLimit.LoginPerIPPerMinute = tt.perIP
				c.RateLimit.LoginPerAccountPerMinute = tt.perAccount
			})
			for i, a := range tt.attempts {
				// A fresh client each time: the limits follow the address
				// and the account, not the client.
				c := appClient(env)
				env.Counter.Reset()
				r := c.Op(t, "Login", map[string]any{"email": a.email, "password": a.password})
				users, total := env.Counter.Of("user"), env.Counter.Total()
				login := bfftest.Decode[loginData](t, r).Login
				what := fmt.Sprintf("attempt %d (%s)", i+1, a.email)
				switch a.want {
				case signedIn:
					if r.Status != http.StatusOK || login == nil || login.Token == "" {
						t.Errorf("%s: %d %s, want signed in", what, r.Status, r.Raw)
					}
				case wrong:
					if r.Status != http.StatusOK || login != nil {
						t.Errorf("%s: %d %s, want 200 and login null", what, r.Status, r.Raw)
					}
					wantError(t, r, "login", "UNAUTHENTICATED")
					if users == 0 {
						t.Errorf("%s: the user service was not asked", what)
					}
				case limited:
					if r.Status != http.StatusTooManyRequests || login != nil {
						t.Errorf("%s: %d %s, want 429 and login null", what, r.Status, r.Raw)
					}
					wantError(t, r, "login", "RATE_LIMITED")
					if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
						t.Errorf("%s: Retry-After %q, want whole seconds, at least 1", what, r.Header.Get("Retry-After"))
					}
					if users != 0 || total != 0 {
						t.Errorf("%s: %d upstream requests (%d to the user service), want none: %v", what, total, users, env.Counter.Requests())
					}
				}
			}
		})
	}
}
