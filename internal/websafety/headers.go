package websafety

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// APICSP is the Content-Security-Policy of every answer but the GraphiQL
// page: JSON loads nothing and may not be framed.
const APICSP = "default-src 'none'; frame-ancestors 'none'"

// PlaygroundCDN is the only origin the GraphiQL page may load code,
// styles, fonts and images from.
const PlaygroundCDN = "https://cdn.jsdelivr.net"

// SecurityHeaders sets the headers every answer carries:
// X-Content-Type-Options nosniff, Referrer-Policy no-referrer,
// X-Frame-Options DENY, Cross-Origin-Opener-Policy same-origin and
// Content-Security-Policy APICSP. The GraphiQL page replaces the policy
// with its own; see Playground.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Security-Policy", APICSP)
		next.ServeHTTP(w, r)
	})
}

// Playground wraps the handler of a GraphiQL page, such as gqlgen's
// playground.Handler: it renders the page and answers it with
// PlaygroundCSP of the page in place of the API policy. Serve it under
// SecurityHeaders.
func Playground(page http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
		page.ServeHTTP(buf, r)
		for k, vs := range buf.header {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Security-Policy", PlaygroundCSP(buf.body.Bytes()))
		w.Header().Set("Content-Length", strconv.Itoa(buf.body.Len()))
		w.WriteHeader(buf.status)
		_, _ = w.Write(buf.body.Bytes())
	})
}

// bufferedWriter keeps a page until its policy is known.
type bufferedWriter struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if !b.wrote {
		b.status, b.wrote = status, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

var (
	scriptElement = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	styleElement  = regexp.MustCompile(`(?is)<style\b[^>]*>(.*?)</style\s*>`)
	stylesheet    = regexp.MustCompile(`(?is)<link\b[^>]*\brel\s*=\s*"stylesheet"[^>]*>`)
	srcAttr       = regexp.MustCompile(`(?is)\bsrc\s*=\s*"([^"]*)"`)
	hrefAttr      = regexp.MustCompile(`(?is)\bhref\s*=\s*"([^"]*)"`)
	// safeURL keeps a URL that cannot break out of a CSP source expression.
	safeURL = regexp.MustCompile(`^https://cdn\.jsdelivr\.net/[A-Za-z0-9@/._~+-]+$`)
)

// PlaygroundCSP returns the Content-Security-Policy of a GraphiQL page,
// given its HTML as served. The page loads React, GraphiQL and its plugin
// from PlaygroundCDN and boots them with an inline script (gqlgen's
// graphql/playground/playground.go template, which also has an inline
// style). The policy allows:
//
//   - scripts: exactly the PlaygroundCDN files the page's <script src>
//     name, and its inline scripts by their SHA-256 hash;
//   - styles: exactly the PlaygroundCDN stylesheets the page links, and
//     its inline <style> elements by their SHA-256 hash;
//   - fonts and images: PlaygroundCDN and data: URLs (GraphiQL's
//     stylesheet embeds its fonts and icons as data: URLs);
//   - connections: 'self' only, where the page sends its queries;
//   - nothing else: no 'unsafe-inline', no 'unsafe-eval', no framing, no
//     <base>, no form posts.
//
// The hashes depend on the page's options (title aside: endpoint, headers,
// storage prefix), which is why the policy is derived from the page.
// GraphiQL's dialogs inject a <style> of their own that the policy does
// not allow; the only loss is that the page behind an open dialog can
// still scroll.
func PlaygroundCSP(page []byte) string {
	var scripts, styles []string
	for _, m := range scriptElement.FindAllSubmatch(page, -1) {
		if src := srcAttr.FindSubmatch(m[1]); src != nil {
			scripts = appendURL(scripts, string(src[1]))
			continue
		}
		scripts = appendHash(scripts, m[2])
	}
	for _, m := range styleElement.FindAllSubmatch(page, -1) {
		styles = appendHash(styles, m[1])
	}
	for _, link := range stylesheet.FindAll(page, -1) {
		if href := hrefAttr.FindSubmatch(link); href != nil {
			styles = appendURL(styles, string(href[1]))
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + sources(scripts),
		"style-src " + sources(styles),
		"font-src " + PlaygroundCDN + " data:",
		"img-src " + PlaygroundCDN + " data:",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func appendHash(list []string, content []byte) []string {
	sum := sha256.Sum256(content)
	src := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if slices.Contains(list, src) {
		return list
	}
	return append(list, src)
}

func appendURL(list []string, u string) []string {
	u = strings.ReplaceAll(u, "&amp;", "&")
	if !safeURL.MatchString(u) || slices.Contains(list, u) {
		return list
	}
	return append(list, u)
}

func sources(list []string) string {
	if len(list) == 0 {
		return "'none'"
	}
	return strings.Join(list, " ")
}
