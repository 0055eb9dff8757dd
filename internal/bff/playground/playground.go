// Package playground serves the BFFs' development GraphiQL page from the
// BFF itself: GraphiQL 5 with the explorer plugin and the Monaco editor,
// bundled by web/ into dist/ and embedded, so the page makes no request to
// any other origin and `go build` needs no Node.js.
//
// The page carries its settings (endpoint, headers, the client's documents
// as tabs) in a JSON data block, not in an inline script, so that it runs
// under websafety.PlaygroundCSP: scripts, styles, fonts, workers and
// connections from the BFF's own origin only.
//
// To rebuild the bundle after changing web/ (its package.json pins every
// version):
//
//	cd internal/bff/playground/web && npm ci && npm run build
package playground

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// Options configure the page.
type Options struct {
	// Title is the page's title, e.g. "bff-web".
	Title string
	// Endpoint is where the page POSTs its queries; "/graphql" when empty.
	Endpoint string
	// Headers are the request headers every tab starts with, shown in its
	// headers editor and sent with its requests (the mobile BFF's
	// development API key, say).
	Headers map[string]string
	// Credentials is the fetch credentials mode of the page's requests:
	// "same-origin" (the default: the BFF's own cookies, such as the web
	// BFF's session cookie, go along), "omit" or "include".
	Credentials string
	// Documents are the client's GraphQL documents by name, each opened
	// in a tab of its own, in name order, when the browser has no tabs
	// saved from an earlier visit.
	Documents map[string]string
	// Variables are the variables (JSON text) a document's tab starts
	// with, by document name.
	Variables map[string]string
}

// config is the page's JSON data block, read by web/src/main.js.
type config struct {
	Endpoint    string            `json:"endpoint"`
	Credentials string            `json:"credentials"`
	Headers     map[string]string `json:"headers"`
	Tabs        []tab             `json:"tabs"`
}

type tab struct {
	Query     string `json:"query"`
	Variables string `json:"variables,omitempty"`
}

//go:embed page.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// pageData fills page.html.tmpl.
type pageData struct {
	Title  string
	Script string
	Styles []string
	Config config
}

// Handler returns the playground: the page at any path but those below
// AssetsPath, and the bundle's files below AssetsPath. Mount it on the
// page's route and on AssetsPath, e.g.
//
//	mux.Handle("GET /{$}", h)
//	mux.Handle("GET "+playground.AssetsPath, h)
//
// The page is rendered once, here; it is answered with Cache-Control
// no-cache, the assets with a year-long immutable lifetime. Handler
// panics if the embedded bundle is missing or broken (a build without
// dist/) or Credentials is not a fetch credentials mode: both are
// mistakes in the program, not in its input.
func Handler(opts Options) http.Handler {
	b, err := loadBundle()
	if err != nil {
		panic(err)
	}
	page, err := render(b, opts)
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if name, ok := strings.CutPrefix(r.URL.Path, AssetsPath); ok {
			b.serveAsset(w, r, name)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(page)
	})
}

// render writes the page for opts.
func render(b *bundle, opts Options) ([]byte, error) {
	cfg := config{
		Endpoint:    opts.Endpoint,
		Credentials: opts.Credentials,
		Headers:     opts.Headers,
		Tabs:        []tab{},
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "/graphql"
	}
	switch cfg.Credentials {
	case "":
		cfg.Credentials = "same-origin"
	case "same-origin", "omit", "include":
	default:
		return nil, fmt.Errorf("playground: credentials %q is none of same-origin, omit, include", cfg.Credentials)
	}
	if cfg.Headers == nil {
		cfg.Headers = map[string]string{}
	}
	names := make([]string, 0, len(opts.Documents))
	for name := range opts.Documents {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		cfg.Tabs = append(cfg.Tabs, tab{Query: opts.Documents[name], Variables: opts.Variables[name]})
	}
	title := opts.Title
	if title == "" {
		title = "GraphiQL"
	}
	data := pageData{Title: title, Script: AssetsPath + b.script, Config: cfg}
	for _, s := range b.styles {
		data.Styles = append(data.Styles, AssetsPath+s)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("playground: %w", err)
	}
	return buf.Bytes(), nil
}
