package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// dist is the bundle built by web/ (npm ci && npm run build): the entry
// script, its chunks, stylesheets, fonts and Monaco's workers under
// assets/, with manifest.json naming the entry's files, VERSIONS.json the
// packages it was built from and LICENSES.md their licences. ("all:" keeps chunks whose names start
// with "_" or ".", which a bundler may write.)
//
//go:embed all:dist
var dist embed.FS

// AssetsPath is where Handler serves the bundle's files; the page names
// them under it, and they name each other relative to themselves.
const AssetsPath = "/playground/assets/"

// entryName is the bundle's entry in dist/manifest.json.
const entryName = "src/main.js"

// assetCacheControl lets a browser keep an asset for a year without asking
// again: every name carries a hash of its content.
const assetCacheControl = "public, max-age=31536000, immutable"

// contentTypes are the types of the files a bundle holds, fixed here
// rather than taken from the machine's MIME tables. A file of any other
// kind is not served.
var contentTypes = map[string]string{
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".ttf":   "font/ttf",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".json":  "application/json",
	".wasm":  "application/wasm",
}

// asset is one file of the bundle. Its content is read, and its ETag
// computed, when it is first served: a BFF whose playground nobody opens
// keeps the bundle's megabytes out of its memory (reading and hashing them
// all at start made them resident, twice: the embedded pages and a copy).
type asset struct {
	fsys        fs.FS
	path        string
	contentType string

	loadOnce sync.Once
	data     []byte
	etag     string
	errLoad  error

	gzipOnce sync.Once
	gzipped  []byte // nil when compression does not pay
}

// bundle is the embedded build: its assets by name (below assets/) and the
// entry's script and stylesheets.
type bundle struct {
	assets   map[string]*asset
	script   string   // the entry script's name below assets/
	styles   []string // the entry's stylesheets' names below assets/
	versions map[string]string
}

var (
	loadOnce   sync.Once
	loaded     *bundle
	errLoading error
)

// loadBundle reads the embedded build once.
func loadBundle() (*bundle, error) {
	loadOnce.Do(func() { loaded, errLoading = readBundle(dist) })
	return loaded, errLoading
}

// manifestEntry is one entry of Vite's build manifest.
type manifestEntry struct {
	File    string   `json:"file"`
	CSS     []string `json:"css"`
	IsEntry bool     `json:"isEntry"`
}

// readBundle reads a build (a dist/ folder in fsys).
func readBundle(fsys fs.FS) (*bundle, error) {
	raw, err := fs.ReadFile(fsys, "dist/manifest.json")
	if err != nil {
		return nil, fmt.Errorf("playground bundle: %w (build it: cd internal/bff/playground/web && npm ci && npm run build)", err)
	}
	var manifest map[string]manifestEntry
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return nil, fmt.Errorf("playground bundle: manifest.json: %w", err)
	}
	entry, ok := manifest[entryName]
	if !ok || !entry.IsEntry {
		return nil, fmt.Errorf("playground bundle: manifest.json has no entry %q", entryName)
	}
	b := &bundle{assets: map[string]*asset{}}
	err = fs.WalkDir(fsys, "dist/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		b.assets[strings.TrimPrefix(p, "dist/assets/")] = &asset{fsys: fsys, path: p, contentType: ct}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("playground bundle: %w", err)
	}
	name := func(file string) (string, error) {
		n, ok := strings.CutPrefix(file, "assets/")
		if !ok || b.assets[n] == nil {
			return "", fmt.Errorf("playground bundle: the manifest names %q, which the bundle lacks", file)
		}
		return n, nil
	}
	if b.script, err = name(entry.File); err != nil {
		return nil, err
	}
	for _, css := range entry.CSS {
		n, err := name(css)
		if err != nil {
			return nil, err
		}
		b.styles = append(b.styles, n)
	}
	if raw, err := fs.ReadFile(fsys, "dist/VERSIONS.json"); err == nil {
		if err := json.Unmarshal(raw, &b.versions); err != nil {
			return nil, fmt.Errorf("playground bundle: VERSIONS.json: %w", err)
		}
	}
	return b, nil
}

// Versions returns the version of each package the embedded bundle was
// built from (graphiql, @graphiql/plugin-explorer, react, monaco-editor,
// …), as the build recorded them in dist/VERSIONS.json.
func Versions() (map[string]string, error) {
	b, err := loadBundle()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(b.versions))
	for k, v := range b.versions {
		out[k] = v
	}
	return out, nil
}

// serveAsset answers GET and HEAD for one file below AssetsPath: 404 for
// a name the bundle lacks, otherwise the file with its content type, an
// ETag and a year-long immutable cache lifetime, gzipped for a client that
// accepts it.
func (b *bundle) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a := b.assets[name]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	if err := a.load(); err != nil {
		http.Error(w, "playground asset unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", assetCacheControl)
	h.Add("Vary", "Accept-Encoding")
	data, etag := a.data, a.etag
	if r.Header.Get("Range") == "" && acceptsGzip(r) {
		if gz := a.gzip(); gz != nil {
			h.Set("Content-Encoding", "gzip")
			// Another representation, so another tag.
			data, etag = gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// load reads the asset and computes its ETag, once.
func (a *asset) load() error {
	a.loadOnce.Do(func() {
		data, err := fs.ReadFile(a.fsys, a.path)
		if err != nil {
			a.errLoad = fmt.Errorf("playground bundle: %w", err)
			return
		}
		sum := sha256.Sum256(data)
		a.data, a.etag = data, `"`+hex.EncodeToString(sum[:12])+`"`
	})
	return a.errLoad
}

// gzip returns the asset compressed, once, or nil when that saves little
// (fonts and images are compressed already).
func (a *asset) gzip() []byte {
	a.gzipOnce.Do(func() {
		if len(a.data) < 1024 || strings.HasPrefix(a.contentType, "font/") || a.contentType == "image/png" {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(a.data)
		_ = zw.Close()
		if buf.Len() < len(a.data)*9/10 {
			a.gzipped = buf.Bytes()
		}
	})
	return a.gzipped
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip
// with a non-zero quality.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
