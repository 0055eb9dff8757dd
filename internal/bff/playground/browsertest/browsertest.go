// Package browsertest drives the BFF playground (internal/bff/playground) in
// headless Chromium through chromedp, for the BFFs' browser tests: open
// the page, put a query in the editor, run it with the page's own button,
// switch tabs, read the result pane, while recording every request the
// page makes and every Content-Security-Policy violation it reports.
//
// Chromium is found as $CHROMIUM, then chromium, chromium-browser,
// google-chrome in PATH, then /usr/bin/chromium. Without one, Open skips
// the test, or fails it when the environment variable CI is set. With
// BROWSERTEST_SCREENSHOTS set to a folder, each page is saved there as a
// PNG when its test ends.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Timeout bounds a whole browser session: start, page load and every
// step. A step that waits (for the editor, for an answer) fails the test
// when it runs out.
const Timeout = 40 * time.Second

// Page is the playground open in a browser tab.
type Page struct {
	t      testing.TB
	ctx    context.Context
	origin string

	mu       sync.Mutex
	requests []Request // every request of the page and its workers
	errors   []string  // uncaught exceptions and error log entries
}

// chromiumPath returns the browser to drive, or "".
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// violationRecorder runs in the page before its own scripts (a DevTools
// injection, which the page's policy does not govern) and keeps every CSP
// violation the page reports.
const violationRecorder = `
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push({directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile, sample: e.sample});
});`

// Open starts a headless Chromium with a fresh profile, opens pageURL and
// waits until GraphiQL's query editor is ready. The browser stops with
// the test. Every request the page makes is recorded from then on; see
// CheckRequests.
func Open(t testing.TB, pageURL string) *Page {
	t.Helper()
	p := launch(t, pageURL)
	p.waitReady()
	return p
}

// Reload reloads the page, as a person would, and waits until GraphiQL's
// editors are ready again.
func (p *Page) Reload() {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Reload()); err != nil {
		p.t.Fatalf("reload: %v", err)
	}
	p.waitReady()
}

func (p *Page) waitReady() {
	p.t.Helper()
	p.waitJS("GraphiQL's editors", `(() => {
  const m = globalThis.__MONACO;
  return !!(m && document.querySelector('.graphiql-execute-button') &&
    m.editor.getModels().some((x) => x.uri.path.endsWith('operation.graphql')) &&
    m.editor.getModels().some((x) => x.uri.path.endsWith('response.json')));
})()`)
}

// launch starts the browser and opens pageURL, recording from the start.
func launch(t testing.TB, pageURL string) *Page {
	t.Helper()
	exe := chromiumPath()
	if exe == "" {
		msg := "no Chromium to drive: install Debian's chromium package (apt-get install chromium) or set CHROMIUM"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &Page{t: t, origin: u.Scheme + "://" + u.Host}

	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.WindowSize(1400, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	p.ctx, cancel = chromedp.NewContext(allocCtx, chromedp.WithListener(p.record), chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		if dir := os.Getenv("BROWSERTEST_SCREENSHOTS"); dir != "" {
			p.saveScreenshot(dir)
		}
		cancel()
		// Canceling the allocator waits for the browser to exit, before
		// the test removes its profile.
		cancelAlloc()
	})
	err = chromedp.Do(p.ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: violationRecorder})
			return err
		}),
		chromedp.Navigate(pageURL),
	)
	if err != nil {
		t.Fatalf("open %s in %s: %v", pageURL, exe, err)
	}
	return p
}

// record keeps what the page asks for and what goes wrong in it.
func (p *Page) record(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		req := Request{URL: ev.Request.URL, Method: ev.Request.Method}
		for k, v := range ev.Request.Headers {
			if strings.EqualFold(k, "Content-Type") {
				req.ContentType, _ = v.(string)
			}
		}
		p.requests = append(p.requests, req)
	case *target.EventAttachedToTarget:
		// Workers are targets of their own; their scripts' URLs count.
		if ev.TargetInfo != nil && ev.TargetInfo.URL != "" {
			p.requests = append(p.requests, Request{URL: ev.TargetInfo.URL, Method: "WORKER"})
		}
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			p.errors = append(p.errors, "exception: "+msg)
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		if e == nil || e.Level != log.EntryLevelError {
			return
		}
		// An error status from the GraphQL endpoint is an answer (a
		// refused API key, say), which the result pane shows.
		if e.Source == log.EntrySourceNetwork && strings.HasSuffix(e.URL, "/graphql") {
			return
		}
		p.errors = append(p.errors, fmt.Sprintf("%s: %s (%s)", e.Source, e.Text, e.URL))
	}
}

// Request is one request the page made: a URL it loaded or sent to, or
// the script of a worker it started (Method "WORKER").
type Request struct {
	URL         string
	Method      string
	ContentType string
}

// Requests returns the requests made so far, in order.
func (p *Page) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// CheckRequests fails the test if the page asked for any URL outside its
// own origin (data: and blob: URLs aside), reported a CSP violation, threw
// an uncaught exception or logged an error (but for error statuses from
// the GraphQL endpoint, which are answers). It returns the requests.
func (p *Page) CheckRequests() []Request {
	p.t.Helper()
	reqs := p.Requests()
	if len(reqs) == 0 {
		p.t.Error("no request recorded: the recorder is broken")
	}
	for _, req := range reqs {
		raw := req.URL
		if strings.HasPrefix(raw, "data:") || strings.HasPrefix(raw, "blob:") {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme+"://"+u.Host != p.origin {
			p.t.Errorf("the page requested %s, outside its origin %s", raw, p.origin)
		}
	}
	violations := Eval[[]map[string]any](p, `window.__cspViolations`)
	for _, v := range violations {
		p.t.Errorf("Content-Security-Policy violation: %v", v)
	}
	p.mu.Lock()
	errs := slices.Clone(p.errors)
	p.mu.Unlock()
	for _, e := range errs {
		p.t.Errorf("the page logged an error: %s", e)
	}
	return reqs
}

// SetQuery replaces the content of the active tab's query editor.
func (p *Page) SetQuery(query string) {
	p.t.Helper()
	p.setModel("operation.graphql", query)
}

func (p *Page) setModel(suffix, text string) {
	p.t.Helper()
	arg, _ := json.Marshal(text)
	ok := Eval[bool](p, fmt.Sprintf(`(() => {
  const m = globalThis.__MONACO.editor.getModels().find((x) => x.uri.path.endsWith(%q));
  if (!m) return false;
  m.setValue(%s);
  return true;
})()`, suffix, arg))
	if !ok {
		p.t.Fatalf("the page has no %s editor", suffix)
	}
}

// SetHeaders replaces the content of the active tab's request headers
// editor.
func (p *Page) SetHeaders(headers string) {
	p.t.Helper()
	p.setModel("request-headers.json", headers)
}

// Headers returns the content of the active tab's request headers editor.
func (p *Page) Headers() string {
	p.t.Helper()
	return p.model("request-headers.json")
}

// Query returns the content of the active tab's query editor.
func (p *Page) Query() string {
	p.t.Helper()
	return p.model("operation.graphql")
}

// Response returns the content of the result pane.
func (p *Page) Response() string {
	p.t.Helper()
	return p.model("response.json")
}

func (p *Page) model(suffix string) string {
	p.t.Helper()
	return Eval[string](p, fmt.Sprintf(`(() => {
  const m = globalThis.__MONACO.editor.getModels().find((x) => x.uri.path.endsWith(%q));
  return m ? m.getValue() : '';
})()`, suffix))
}

// Run clicks the page's run button and waits until the result pane shows
// a new answer containing want, which it returns. The answer is read from
// the pane's editor and checked against the text the pane displays.
func (p *Page) Run(want string) string {
	p.t.Helper()
	// GraphiQL takes in an edit 100 ms later (its editor's change handler
	// is debounced): it then stores the query and works out the operation
	// name it will send. A run before that sends the new query with the
	// old name.
	p.waitJS("GraphiQL to take in the query", `(() => {
  const m = globalThis.__MONACO.editor.getModels().find((x) => x.uri.path.endsWith('operation.graphql'));
  return !!m && localStorage.getItem('graphiql:query') === m.getValue();
})()`)
	before := p.Response()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(".graphiql-execute-button"))); err != nil {
		p.t.Fatalf("click the run button: %v", err)
	}
	var got string
	p.poll(fmt.Sprintf("an answer containing %q", want), func() bool {
		got = p.Response()
		return got != before && strings.Contains(got, want)
	}, func() string { return got })
	// What a person sees: the pane's rendered lines (Monaco renders spaces
	// as no-break spaces).
	wantJS, _ := json.Marshal(want)
	p.waitJS("the result pane to display "+want, fmt.Sprintf(`(() => {
  const el = document.querySelector('.graphiql-response');
  return !!el && el.innerText.replace(/\u00a0/g, ' ').includes(%s);
})()`, wantJS))
	return got
}

// SelectTab clicks the tab titled title and waits until it is active.
func (p *Page) SelectTab(title string) {
	p.t.Helper()
	titleJS, _ := json.Marshal(title)
	ok := Eval[bool](p, fmt.Sprintf(`(() => {
  const b = [...document.querySelectorAll('.graphiql-tab-button')].find((b) => b.textContent.trim() === %s);
  if (!b) return false;
  b.setAttribute('data-browsertest-tab', '');
  return true;
})()`, titleJS))
	if !ok {
		p.t.Fatalf("no tab titled %q; tabs: %v", title, p.Tabs())
	}
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(`[data-browsertest-tab]`))); err != nil {
		p.t.Fatalf("click the tab %q: %v", title, err)
	}
	Eval[bool](p, `(document.querySelector('[data-browsertest-tab]')?.removeAttribute('data-browsertest-tab'), true)`)
	p.waitJS("the tab "+title+" to be active", fmt.Sprintf(`(() => {
  const tab = document.querySelector('.graphiql-tab-active .graphiql-tab-button');
  return !!tab && tab.textContent.trim() === %s;
})()`, titleJS))
}

// WaitStored waits until GraphiQL has saved its tabs in the browser's
// storage (it does so half a second after a change) with text in them.
func (p *Page) WaitStored(text string) {
	p.t.Helper()
	want, _ := json.Marshal(text)
	p.waitJS("GraphiQL to save its tabs", fmt.Sprintf(`(localStorage.getItem('graphiql:tabState') || '').includes(%s)`, want))
}

// Click clicks the element the CSS selector names, as a mouse would.
func (p *Page) Click(selector string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		p.t.Fatalf("click %s: %v", selector, err)
	}
}

// WaitText waits until the element the CSS selector names shows text.
func (p *Page) WaitText(selector, text string) {
	p.t.Helper()
	sel, _ := json.Marshal(selector)
	want, _ := json.Marshal(text)
	p.waitJS(fmt.Sprintf("%s to show %q", selector, text), fmt.Sprintf(`(() => {
  const el = document.querySelector(%s);
  return !!el && el.innerText.replace(/\u00a0/g, ' ').includes(%s);
})()`, sel, want))
}

// Tabs returns the titles of the page's tabs, in order.
func (p *Page) Tabs() []string {
	p.t.Helper()
	return Eval[[]string](p, `[...document.querySelectorAll('.graphiql-tab-button')].map((b) => b.textContent.trim())`)
}

// Cookies returns the cookies the browser holds for the page.
func (p *Page) Cookies() []*network.Cookie {
	p.t.Helper()
	cookies, err := chromedp.Run(p.ctx, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{p.origin}})
		return res.Cookies, err
	})
	if err != nil {
		p.t.Fatalf("read the cookies: %v", err)
	}
	return cookies
}

// Eval evaluates a JavaScript expression in the page and returns its
// value.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %.80q: %v", expr, err)
	}
	return v
}

// waitJS waits until the expression is true.
func (p *Page) waitJS(what, expr string) {
	p.t.Helper()
	p.poll(what, func() bool {
		// An error (the page between documents, say) is tried again.
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](expr))
		return err == nil && ok
	}, nil)
}

// poll calls cond every 50 ms until it holds or the session times out.
func (p *Page) poll(what string, cond func() bool, last func() string) {
	p.t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return
		}
		select {
		case <-p.ctx.Done():
			msg := fmt.Sprintf("gave up waiting for %s: %v", what, p.ctx.Err())
			if last != nil {
				msg += "; last seen: " + last()
			}
			p.mu.Lock()
			msg += fmt.Sprintf("; page errors: %v", p.errors)
			p.mu.Unlock()
			p.t.Fatal(msg)
		case <-tick.C:
		}
	}
}

// saveScreenshot writes what the page shows to dir/<test name>.png, for a
// person to look at (BROWSERTEST_SCREENSHOTS=dir).
func (p *Page) saveScreenshot(dir string) {
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(p.t.Name())+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		p.t.Logf("screenshot: %v", err)
		return
	}
	p.t.Logf("screenshot: %s", name)
}
