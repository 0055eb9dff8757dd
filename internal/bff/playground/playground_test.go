package playground_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/playground"
)

// pinned are the packages whose versions package.json pins and the build
// records in dist/VERSIONS.json.
var pinned = []string{"graphiql", "@graphiql/plugin-explorer", "graphql", "react", "react-dom", "vite"}

// TestDistIsBuiltFromThePinnedPackages: the embedded bundle was built from
// exactly the versions web/package.json pins and web/package-lock.json
// locks, GraphiQL 5 among them. A change of version without a rebuild
// (cd internal/bff/playground/web && npm ci && npm run build) fails here.
func TestDistIsBuiltFromThePinnedPackages(t *testing.T) {
	built, err := playground.Versions()
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	readJSON(t, "web/package.json", &pkg)
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	readJSON(t, "web/package-lock.json", &lock)
	exact := regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	for _, name := range pinned {
		want := pkg.Dependencies[name]
		if want == "" {
			want = pkg.DevDependencies[name]
		}
		if !exact.MatchString(want) {
			t.Errorf("package.json pins %s at %q, want an exact version", name, want)
		}
		if got := lock.Packages["node_modules/"+name].Version; got != want {
			t.Errorf("package-lock.json locks %s at %q, package.json pins %q", name, got, want)
		}
		if built[name] != want {
			t.Errorf("dist was built with %s %q, package.json pins %q: rebuild it", name, built[name], want)
		}
	}
	if !strings.HasPrefix(built["graphiql"], "5.") {
		t.Errorf("graphiql %q, want 5.x", built["graphiql"])
	}
	t.Logf("bundle built from %v", built)
}

// TestEveryBundleFileIsServed: each file the build wrote under
// dist/assets is served with a content type, so no chunk, worker or font
// the page asks for is missing.
func TestEveryBundleFileIsServed(t *testing.T) {
	h := playground.Handler(playground.Options{})
	entries, err := os.ReadDir("dist/assets")
	if err != nil {
		t.Fatal(err)
	}
	var workers int
	for _, e := range entries {
		rec := get(t, h, playground.AssetsPath+e.Name(), nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") == "" {
			t.Errorf("%s: status %d, Content-Type %q", e.Name(), rec.Code, rec.Header().Get("Content-Type"))
		}
		if strings.Contains(e.Name(), ".worker-") {
			workers++
		}
	}
	// Monaco's editor worker, and the JSON and GraphQL language workers.
	if workers != 3 {
		t.Errorf("%d worker files in dist/assets, want 3", workers)
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	h := playground.Handler(playground.Options{
		Title:       "bff-mobile",
		Endpoint:    "/api/graphql",
		Headers:     map[string]string{"X-API-Key": "dev-key"},
		Credentials: "omit",
		Documents: map[string]string{
			"Product": "query Product($id: ID!) { product(id: $id) { name } }",
			"Login":   "mutation Login { login { token } } # </script><script>alert(1)</script>",
		},
		Variables: map[string]string{"Login": `{"email": "a@example.com"}`},
	})
	rec := get(t, h, "/", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	if !strings.Contains(body, "<title>bff-mobile</title>") {
		t.Errorf("no title in\n%s", body)
	}
	if strings.Contains(body, "<script>alert(1)") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("the page holds markup from a document, or names another origin:\n%s", body)
	}

	// Scripts: the bundle's entry, and the settings as data; no inline
	// script to run.
	scripts := regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	var config string
	var entry string
	for _, s := range scripts {
		switch {
		case strings.Contains(s[1], `type="application/json"`) && strings.Contains(s[1], `id="playground-config"`):
			config = s[2]
		case strings.Contains(s[1], `type="module"`) && s[2] == "":
			entry = regexp.MustCompile(`src="([^"]+)"`).FindStringSubmatch(s[1])[1]
		default:
			t.Errorf("unexpected script %q", s[0])
		}
	}
	if !strings.HasPrefix(entry, playground.AssetsPath) || !strings.HasSuffix(entry, ".js") {
		t.Errorf("entry script %q", entry)
	}
	var cfg struct {
		Endpoint    string            `json:"endpoint"`
		Credentials string            `json:"credentials"`
		Headers     map[string]string `json:"headers"`
		Tabs        []struct {
			Query     string `json:"query"`
			Variables string `json:"variables"`
		} `json:"tabs"`
	}
	if err := json.Unmarshal([]byte(config), &cfg); err != nil {
		t.Fatalf("config %q: %v", config, err)
	}
	if cfg.Endpoint != "/api/graphql" || cfg.Credentials != "omit" || cfg.Headers["X-API-Key"] != "dev-key" || len(cfg.Tabs) != 2 {
		t.Fatalf("config %+v", cfg)
	}
	// Tabs in name order, each with its variables.
	if !strings.HasPrefix(cfg.Tabs[0].Query, "mutation Login") || cfg.Tabs[0].Variables != `{"email": "a@example.com"}` ||
		!strings.HasPrefix(cfg.Tabs[1].Query, "query Product") || cfg.Tabs[1].Variables != "" {
		t.Errorf("tabs %+v", cfg.Tabs)
	}
	if !strings.HasSuffix(cfg.Tabs[0].Query, "</script><script>alert(1)</script>") {
		t.Errorf("the document changed on its way: %q", cfg.Tabs[0].Query)
	}

	// The stylesheets and the entry are served.
	for _, m := range regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`).FindAllStringSubmatch(body, -1) {
		if rec := get(t, h, m[1], nil); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" {
			t.Errorf("GET %s: %d %q", m[1], rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	if rec := get(t, h, entry, nil); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("GET %s: %d %q", entry, rec.Code, rec.Header().Get("Content-Type"))
	}

	// HEAD: the headers alone.
	req := httptest.NewRequest(http.MethodHead, "/", nil)
	head := httptest.NewRecorder()
	h.ServeHTTP(head, req)
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD: %d, %d bytes", head.Code, head.Body.Len())
	}
}

func TestPageDefaults(t *testing.T) {
	t.Parallel()
	body := get(t, playground.Handler(playground.Options{}), "/", nil).Body.String()
	for _, want := range []string{
		"<title>GraphiQL</title>",
		`{"endpoint":"/graphql","credentials":"same-origin","headers":{},"tabs":[]}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s:\n%s", want, body)
		}
	}
}

func TestHandlerRefusesAnUnknownCredentialsMode(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("Handler accepted credentials \"cors\"")
		}
	}()
	playground.Handler(playground.Options{Credentials: "cors"})
}

func TestAssets(t *testing.T) {
	t.Parallel()
	h := playground.Handler(playground.Options{})
	var script, font string
	entries, err := os.ReadDir("dist/assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch path.Ext(e.Name()) {
		case ".js":
			if strings.HasPrefix(e.Name(), "main-") {
				script = e.Name()
			}
		case ".ttf":
			font = e.Name()
		}
	}
	if script == "" || font == "" {
		t.Fatalf("no main script or font in %v", entries)
	}
	raw, err := os.ReadFile("dist/assets/" + script)
	if err != nil {
		t.Fatal(err)
	}

	plain := get(t, h, playground.AssetsPath+script, nil)
	if plain.Code != http.StatusOK || !bytes.Equal(plain.Body.Bytes(), raw) ||
		plain.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		plain.Header().Get("Content-Encoding") != "" || plain.Header().Get("ETag") == "" {
		t.Fatalf("plain: %d, headers %v", plain.Code, plain.Header())
	}
	// Revalidation by ETag.
	if rec := get(t, h, playground.AssetsPath+script, http.Header{"If-None-Match": {plain.Header().Get("ETag")}}); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", rec.Code)
	}

	// Compressed for a client that accepts gzip, under another tag.
	gz := get(t, h, playground.AssetsPath+script, http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("ETag") == plain.Header().Get("ETag") ||
		!strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") || gz.Body.Len() >= len(raw)/2 {
		t.Fatalf("gzip: headers %v, %d bytes of %d", gz.Header(), gz.Body.Len(), len(raw))
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, raw) {
		t.Errorf("the gzipped script does not unzip to the script (%v)", err)
	}
	if rec := get(t, h, playground.AssetsPath+script, http.Header{"Accept-Encoding": {"gzip;q=0"}}); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}

	// A font is compressed already.
	if rec := get(t, h, playground.AssetsPath+font, http.Header{"Accept-Encoding": {"gzip"}}); rec.Code != http.StatusOK ||
		rec.Header().Get("Content-Type") != "font/ttf" || rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("font: %d, headers %v", rec.Code, rec.Header())
	}

	// Nothing else is served under the assets path.
	for _, p := range []string{"", "nope.js", "../manifest.json", "../VERSIONS.json", "assets/" + script, script + "/"} {
		if rec := get(t, h, playground.AssetsPath+p, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s%s: %d, want 404", playground.AssetsPath, p, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, playground.AssetsPath+script, nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func get(t *testing.T, h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
