package playground

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

func TestReadBundleRefusesABrokenBuild(t *testing.T) {
	t.Parallel()
	manifest := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for name, tc := range map[string]struct {
		fs   fstest.MapFS
		want string
	}{
		"no build":     {fstest.MapFS{}, "npm ci && npm run build"},
		"bad manifest": {fstest.MapFS{"dist/manifest.json": manifest(`{`)}, "manifest.json"},
		"no entry": {fstest.MapFS{"dist/manifest.json": manifest(`{"other.js": {"file": "assets/o.js", "isEntry": true}}`)},
			`no entry "src/main.js"`},
		"entry missing": {fstest.MapFS{
			"dist/manifest.json":    manifest(`{"src/main.js": {"file": "assets/main-1.js", "isEntry": true}}`),
			"dist/assets/main-0.js": {Data: []byte("x")},
		}, `names "assets/main-1.js"`},
		"stylesheet missing": {fstest.MapFS{
			"dist/manifest.json":    manifest(`{"src/main.js": {"file": "assets/main-1.js", "css": ["assets/main-2.css"], "isEntry": true}}`),
			"dist/assets/main-1.js": {Data: []byte("x")},
		}, `names "assets/main-2.css"`},
	} {
		_, err := readBundle(tc.fs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", name, err, tc.want)
		}
	}

	b, err := readBundle(fstest.MapFS{
		"dist/manifest.json":        manifest(`{"src/main.js": {"file": "assets/main-1.js", "css": ["assets/main-2.css"], "isEntry": true}}`),
		"dist/assets/main-1.js":     {Data: []byte("x")},
		"dist/assets/main-2.css":    {Data: []byte("y")},
		"dist/assets/notes.unknown": {Data: []byte("z")},
		"dist/VERSIONS.json":        {Data: []byte(`{"graphiql": "5.0.0"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.script != "main-1.js" || len(b.styles) != 1 || b.styles[0] != "main-2.css" || b.versions["graphiql"] != "5.0.0" || b.assets["notes.unknown"] != nil {
		t.Errorf("bundle %+v", b)
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]bool{
		"":                       false,
		"gzip":                   true,
		"GZIP":                   true,
		"deflate, gzip;q=1.0, *": true,
		"br, gzip ; q=0.5":       true,
		"gzip;q=0":               false,
		"gzip; q=0.000":          false,
		"br, deflate":            false,
		"x-gzip":                 false,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", header)
		if got := acceptsGzip(r); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", header, got, want)
		}
	}
}

// countingFS counts the files opened below dist/assets/.
type countingFS struct {
	fs.FS
	opened atomic.Int32
}

func (c *countingFS) Open(name string) (fs.File, error) {
	if strings.HasPrefix(name, "dist/assets/") {
		c.opened.Add(1)
	}
	return c.FS.Open(name)
}

// TestAssetsAreReadWhenFirstServed: reading the bundle at start opens no
// asset (a BFF whose playground nobody opens does not hold the bundle in
// memory); an asset is read once, when first served, with its ETag.
func TestAssetsAreReadWhenFirstServed(t *testing.T) {
	t.Parallel()
	fsys := &countingFS{FS: fstest.MapFS{
		"dist/manifest.json":    {Data: []byte(`{"src/main.js": {"file": "assets/main-1.js", "isEntry": true}}`)},
		"dist/assets/main-1.js": {Data: []byte("console.log(1)")},
	}}
	b, err := readBundle(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if n := fsys.opened.Load(); n != 0 {
		t.Fatalf("reading the bundle opened %d assets", n)
	}
	for range 2 {
		rec := httptest.NewRecorder()
		b.serveAsset(rec, httptest.NewRequest(http.MethodGet, AssetsPath+"main-1.js", nil), "main-1.js")
		if rec.Code != http.StatusOK || rec.Body.String() != "console.log(1)" || rec.Header().Get("ETag") == "" {
			t.Fatalf("%d %q etag %q", rec.Code, rec.Body, rec.Header().Get("ETag"))
		}
	}
	if n := fsys.opened.Load(); n != 1 {
		t.Errorf("two requests opened the asset %d times, want once", n)
	}
}

// TestAnUnreadableAssetIsAnErrorWithoutDetails: an asset that cannot be
// read answers 500 without naming the file or the cause.
func TestAnUnreadableAssetIsAnErrorWithoutDetails(t *testing.T) {
	t.Parallel()
	b := &bundle{assets: map[string]*asset{"gone.js": {fsys: fstest.MapFS{}, path: "dist/assets/gone.js", contentType: "text/javascript"}}}
	rec := httptest.NewRecorder()
	b.serveAsset(rec, httptest.NewRequest(http.MethodGet, AssetsPath+"gone.js", nil), "gone.js")
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "dist/") {
		t.Errorf("%d %q", rec.Code, rec.Body)
	}
}
