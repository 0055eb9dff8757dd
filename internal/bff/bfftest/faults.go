package bfftest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/internal/testutil/faultproxy"
	"github.com/acme/bff-gateway/services/servicetest"
)

// The fault suite runs each contract operation of a BFF with each fault of
// Faults on each service in turn, through the proxies of Options.Proxies,
// and checks what the client gets: HTTP 200 within the request deadline,
// the data that did not depend on the faulty service, coded errors on the
// fields that did (or a clean success where a retry can absorb the fault),
// never a panic; and that no goroutine, connection or request is left
// behind.

// The timeouts of BFFs under the fault suite: short, so that hung and
// endless answers end quickly, yet long enough for a sign-in or a retried
// call on a busy 2-core machine running both BFFs' suites at once (at
// 300ms, sign-ins there timed out now and then).
const (
	FaultCallTimeout    = time.Second
	FaultRequestTimeout = 2 * time.Second
)

// FaultConfig configures a BFF for the fault suite: short timeouts;
// breakers that do not open and a product cache that keeps nothing from
// one case to the next, so that each case reaches the faulty service and
// shows the fault's own effect, not an open breaker or products cached by
// the cases before it (breakers and stale products are tested on their
// own).
func FaultConfig(c *config.Config) {
	c.Timeouts.Call = FaultCallTimeout
	c.Timeouts.Request = FaultRequestTimeout
	c.ProductCache.FetchTimeout = FaultRequestTimeout
	c.ProductCache.TTL = time.Nanosecond
	c.ProductCache.MaxStale = 0
	c.Breaker.ConsecutiveFailures = 1 << 30
}

// Outcome is what a fault should cost an operation that depends on the
// faulty service.
type Outcome int

const (
	// Harmless faults cost nothing: a clean success.
	Harmless Outcome = iota
	// Absorbed faults are absorbed by a retry: a clean success when every
	// call the operation makes to the service may be retried (Dep.Retryable),
	// else a clean success or the fields of Dep failing.
	Absorbed
	// Failing faults fail the fields of Dep, with one of the fault's codes.
	Failing
	// Either faults may be absorbed or fail the fields of Dep: both are
	// right (a retry that cannot fit in the call's deadline is not made).
	Either
)

// The GraphQL codes of an upstream failure.
const (
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"
	CodeUpstreamTimeout    = "UPSTREAM_TIMEOUT"
)

// FaultCase is one fault of the suite and what it should cost.
type FaultCase struct {
	Name    string
	Fault   faultproxy.Fault
	Outcome Outcome
	// Codes are the codes the errors of the fields that failed may have.
	Codes []string
}

// Faults returns the faults of the suite, in the order the cases run.
func Faults() []FaultCase {
	unavailable := []string{CodeServiceUnavailable}
	return []FaultCase{
		{"latency", faultproxy.Latency(50*time.Millisecond, 25*time.Millisecond), Harmless, nil},
		{"503x2", faultproxy.Unavailable().Times(2), Absorbed, unavailable},
		// A Retry-After of 0 is short enough for any deadline; one of 1 s
		// does not fit in the suite's call timeout (1s, of which the first
		// try took some): not waited for, the 429 is the answer, a
		// failure like a 503.
		{"429x1", faultproxy.TooManyRequests("0").Times(1), Absorbed, unavailable},
		{"429x1-retry-after-1s", faultproxy.TooManyRequests("1").Times(1), Either, unavailable},
		{"reset-once", faultproxy.ResetMidBody().Times(1), Absorbed, unavailable},
		{"drop-once", faultproxy.DropAfterUpstream().Times(1), Absorbed, unavailable},
		{"reset", faultproxy.ResetMidBody(), Failing, unavailable},
		{"503", faultproxy.Unavailable(), Failing, unavailable},
		{"html", faultproxy.HTMLPage(), Failing, unavailable},
		{"garbage", faultproxy.Garbage(), Failing, unavailable},
		{"truncated", faultproxy.Truncated(), Failing, unavailable},
		// An endless answer that trickles ends at the call's deadline; one
		// that floods, at the bound on answers (upstream.max_answer_bytes).
		{"endless", faultproxy.Endless(), Failing, []string{CodeUpstreamTimeout}},
		{"flood", faultproxy.Flood(), Failing, unavailable},
		{"hang", faultproxy.Hang(), Failing, []string{CodeUpstreamTimeout}},
		{"drop", faultproxy.DropAfterUpstream(), Failing, unavailable},
	}
}

// faultServices are the services the suite puts faults on.
var faultServices = []string{"user", "order", "product"}

// Dep is what an operation loses when one service fails. Paths are dotted
// GraphQL response paths; in Errors and Required a "*" stands for any one
// element (a list index or a field name).
type Dep struct {
	// Errors are where the failure may show: every error must be at one
	// of them (and its data null).
	Errors []string
	// Required are where it must show when the service fails every
	// request: each needs an error.
	Required []string
	// Present are data that do not depend on the service: each must be
	// there (not null) all the same.
	Present []string
	// Retryable says that every call the operation makes to the service
	// may be retried (reads, a placement with its idempotency key), so
	// that an Absorbed fault must end in a clean success.
	Retryable bool
}

// FaultOp is one contract operation under the fault suite; F is the
// suite's fixture, made once per BFF.
type FaultOp[F any] struct {
	Name string
	// Prepare readies one run, while no fault is set: signs in, places
	// what the operation needs. It runs once per case.
	Prepare func(t *testing.T, env *Env, fx F) FaultRun
	// Deps says what the failure of each service costs the answer; a
	// service it does not name costs nothing: the answer must be a clean
	// success whatever that service does.
	Deps map[string]Dep
	// Present are data a clean success must have (not null).
	Present []string
}

// FaultRun is one run of an operation.
type FaultRun struct {
	// Send sends the operation while the fault is set.
	Send func(t *testing.T) Response
	// Check, when set, checks more once the fault is cleared and the
	// proxies are idle; failed says whether the answer had errors.
	Check func(t *testing.T, r Response, failed bool)
}

// FaultSuite is the fault suite of one BFF.
type FaultSuite[F any] struct {
	// Options start each BFF of the suite (Services should be set, so
	// that they share one stack); Run adds the proxies, FaultConfig and a
	// logger that watches for panics.
	Options Options
	// Setup makes the fixture of one BFF, once it has started.
	Setup func(t *testing.T, env *Env) F
	Ops   []FaultOp[F]
	// Faults are the suite's faults (Faults() when nil).
	Faults []FaultCase
	// Concurrency is how many BFFs run their cases at once (6 when 0).
	Concurrency int
}

// deadlineSlack is how much later than the request deadline an answer may
// come on a busy machine.
const deadlineSlack = time.Second

// Run starts one BFF per fault and service (so that no case inherits the
// retry budget, cached products or open breakers of another fault) and
// runs every operation under that fault, one after the other. BFFs run
// concurrently: their cases mostly wait for timeouts. Then it checks that
// the process's goroutines and open sockets are back to what they were.
func (s FaultSuite[F]) Run(t *testing.T) {
	faults := s.Faults
	if faults == nil {
		faults = Faults()
	}
	workers := s.Concurrency
	if workers <= 0 {
		workers = 6
	}
	idle := func() {
		if tr, ok := http.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	}
	idle()
	time.Sleep(200 * time.Millisecond) // what the stack's start left runs out
	baseG, baseFD := runtime.NumGoroutine(), openFDs()
	var covered sync.Once
	start := time.Now()
	t.Run("cases", func(t *testing.T) {
		sem := make(chan struct{}, workers)
		var wg sync.WaitGroup
		for _, svc := range faultServices {
			for _, fc := range faults {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					// Subtests run from goroutines of their own: they
					// mostly wait, and t.Parallel would run only
					// GOMAXPROCS of them at once.
					t.Run(svc+"/"+fc.Name, func(t *testing.T) {
						env := s.start(t)
						covered.Do(func() { s.checkCoverage(t, env) })
						fx := s.Setup(t, env)
						for _, op := range s.Ops {
							t.Run(op.Name, func(t *testing.T) { runCase(t, env, svc, fc, op, fx) })
						}
						for name, p := range env.Faults {
							if !p.WaitIdle(FaultRequestTimeout) {
								t.Errorf("%s proxy: %d requests still in flight", name, p.InFlight())
							}
							// The BFF's transport keeps at most 2 idle
							// connections per service (plus one being
							// closed): more would be connections leaked.
							if n := waitFor(func() int { return p.Open() }, 3, time.Second); n > 3 {
								t.Errorf("%s proxy: %d connections still open", name, n)
							}
						}
					})
				})
			}
		}
		wg.Wait()
	})
	t.Logf("%d operations × %d faults × %d services in %s", len(s.Ops), len(faults), len(faultServices), time.Since(start).Round(time.Millisecond))
	idle()
	const tolerance = 5
	g, fd := settle(baseG+tolerance, baseFD+tolerance, 10*time.Second)
	t.Logf("goroutines %d before, %d after; sockets %d before, %d after", baseG, g, baseFD, fd)
	if g > baseG+tolerance {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the suite, %d before:\n%s", g, baseG, buf[:runtime.Stack(buf, true)])
	}
	if baseFD >= 0 && fd > baseFD+tolerance {
		t.Errorf("%d open sockets after the suite, %d before: %q", fd, baseFD, fdTargets())
	}
}

// start starts one BFF of the suite, with its proxies.
func (s FaultSuite[F]) start(t *testing.T) *Env {
	opts := s.Options
	opts.Proxies = true
	configure := opts.Configure
	opts.Configure = func(c *config.Config) {
		FaultConfig(c)
		if configure != nil {
			configure(c)
		}
	}
	watch := &panicWatch{}
	opts.Logger = slog.New(watch)
	t.Cleanup(func() {
		if msgs := watch.seen(); len(msgs) > 0 {
			t.Errorf("the BFF logged panics: %q", msgs)
		}
	})
	return Start(t, opts)
}

// checkCoverage fails t unless the suite has cases for every operation of
// the client's documents.
func (s FaultSuite[F]) checkCoverage(t *testing.T, env *Env) {
	if env.Ops == nil {
		t.Error("the suite's Options have no OperationsDir")
		return
	}
	for name := range env.Ops.Docs {
		if !slices.ContainsFunc(s.Ops, func(op FaultOp[F]) bool { return op.Name == name }) {
			t.Errorf("operation %s of the contract has no fault cases", name)
		}
	}
}

// runCase runs one operation under one fault on one service.
func runCase[F any](t *testing.T, env *Env, svc string, fc FaultCase, op FaultOp[F], fx F) {
	run := op.Prepare(t, env, fx)
	proxy := env.Faults[svc]
	proxy.Set(fc.Fault)
	defer proxy.Clear() // also when Send fails the case
	start := time.Now()
	r := run.Send(t)
	took := time.Since(start)
	struck := proxy.Faulted()
	proxy.Clear()
	if _, depends := op.Deps[svc]; depends && struck == 0 {
		t.Errorf("the fault never struck: the operation sent nothing to the %s service", svc)
	}
	if took > FaultRequestTimeout+deadlineSlack {
		t.Errorf("answered after %s; the request deadline is %s", took.Round(time.Millisecond), FaultRequestTimeout)
	}
	for name, p := range env.Faults {
		if !p.WaitIdle(FaultRequestTimeout + deadlineSlack) {
			t.Errorf("%s proxy: %d requests still in flight after the answer", name, p.InFlight())
		}
	}
	failed := judge(t, r, op, svc, fc, fmt.Sprintf("the answer took %s; the fault struck %d requests", took.Round(time.Millisecond), struck))
	if run.Check != nil {
		run.Check(t, r, failed)
	}
}

// judge checks an answer and reports whether it was a failure (had
// errors); timing says how long it took and how often the fault struck,
// for an unexpected code (a deadline met where retries were expected to
// end first).
func judge[F any](t *testing.T, r Response, op FaultOp[F], svc string, fc FaultCase, timing string) bool {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Errorf("HTTP %d, want 200 (answer %.500s)", r.Status, r.Raw)
	}
	data := decodeData(t, r)
	dep, depends := op.Deps[svc]
	clean := !depends || fc.Outcome == Harmless || (fc.Outcome == Absorbed && dep.Retryable)
	if !clean && (fc.Outcome == Absorbed || fc.Outcome == Either) && len(r.Errors) == 0 {
		clean = true // not retried, or a retry absorbed it
	}
	if clean {
		if len(r.Errors) > 0 {
			why := "the operation does not depend on the " + svc + " service"
			switch {
			case fc.Outcome == Harmless:
				why = "the fault is harmless"
			case depends:
				why = "a retry absorbs the fault"
			}
			t.Errorf("errors, want a clean success (%s): %.800s", why, r.Raw)
		}
		for _, p := range op.Present {
			if v, _ := valueAt(data, p); v == nil {
				t.Errorf("no %s in a clean success: %.800s", p, r.Raw)
			}
		}
		return false
	}
	if len(r.Errors) == 0 {
		t.Errorf("no error, want the fields that depend on the %s service to fail: %.800s", svc, r.Raw)
	}
	for _, e := range r.Errors {
		path := e.PathString()
		if !slices.ContainsFunc(dep.Errors, func(p string) bool { return matchPath(p, path) }) {
			t.Errorf("error %s (%q) at %q, want errors only at %v", e.Code(), e.Message, path, dep.Errors)
		}
		if !slices.Contains(fc.Codes, e.Code()) {
			t.Errorf("error at %q has code %s (%q), want one of %v (%s)", path, e.Code(), e.Message, fc.Codes, timing)
		}
		if v, _ := valueAt(data, path); v != nil {
			t.Errorf("error at %q, but its data is there: %.300s", path, mustMarshal(v))
		}
	}
	// A fault of a few requests fails only the fields those requests were
	// for: each field must fail only when every request does.
	var required []string
	if fc.Fault.Count == 0 {
		required = dep.Required
	}
	for _, want := range required {
		if !slices.ContainsFunc(r.Errors, func(e Error) bool { return matchPath(want, e.PathString()) }) {
			t.Errorf("no error at %s: %.800s", want, r.Raw)
		}
	}
	for _, p := range dep.Present {
		if v, _ := valueAt(data, p); v == nil {
			t.Errorf("no %s, which does not depend on the %s service: %.800s", p, svc, r.Raw)
		}
	}
	return true
}

func decodeData(t *testing.T, r Response) any {
	t.Helper()
	if len(r.Data) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Errorf("data: %v", err)
	}
	return v
}

// ValueAt returns the value at a dotted path of decoded JSON (list indexes
// as numbers), and whether the path leads anywhere.
func ValueAt(data any, path string) (any, bool) { return valueAt(data, path) }

func valueAt(data any, path string) (any, bool) {
	v := data
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// matchPath reports whether a dotted path matches a pattern whose "*"
// segments match any one segment.
func matchPath(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "."), strings.Split(path, ".")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != xs[i] {
			return false
		}
	}
	return true
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// settle waits up to d for the goroutines and open sockets to come down
// to at most g and fd, and returns how many there are.
func settle(g, fd int, d time.Duration) (int, int) {
	deadline := time.Now().Add(d)
	for {
		runtime.GC()
		ng, nfd := runtime.NumGoroutine(), openFDs()
		if (ng <= g && nfd <= fd) || time.Now().After(deadline) {
			return ng, nfd
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openFDs counts the process's open sockets (-1 where /proc is not
// there). Files are left out: the services' SQLite pools open and keep
// database files as they please.
func openFDs() int {
	n := 0
	for _, target := range fdTargets() {
		if strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	if n == 0 {
		return -1
	}
	return n
}

// fdTargets returns what each open file descriptor of the process is.
func fdTargets() []string {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			out = append(out, target)
		}
	}
	return out
}

// waitFor waits up to d for f to come down to at most want, and returns
// its last value.
func waitFor(f func() int, want int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		n := f()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// panicWatch is a slog.Handler that keeps the messages of records about a
// panic (the BFF's recovery logs them) and discards the rest.
type panicWatch struct {
	mu   sync.Mutex
	msgs []string
}

func (w *panicWatch) Enabled(context.Context, slog.Level) bool { return true }

func (w *panicWatch) Handle(_ context.Context, r slog.Record) error {
	if !strings.Contains(strings.ToLower(r.Message), "panic") {
		return nil
	}
	text := r.Message
	r.Attrs(func(a slog.Attr) bool {
		text += " " + a.Key + "=" + a.Value.String()
		return true
	})
	w.mu.Lock()
	w.msgs = append(w.msgs, text)
	w.mu.Unlock()
	return nil
}

func (w *panicWatch) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *panicWatch) WithGroup(string) slog.Handler      { return w }

func (w *panicWatch) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}

// FaultKey returns an idempotency key unique to one case of the suite.
func FaultKey(t *testing.T) string {
	sum := sha256.Sum256([]byte(t.Name()))
	return "fault-" + hex.EncodeToString(sum[:16])
}

// FaultSeed is the data set of the fault suite's services: a generated
// customer for each BFF (Customers), and products enough that no two BFFs
// order much of the same one.
var FaultSeed = seed.Sizes{Users: 60, Products: 60, Orders: 200}

// Customer is a seeded customer that one BFF of the fault suite has to
// itself, so that BFFs running at once never see each other's orders.
type Customer struct {
	Email, Password, ID string
	// Token is the customer's access token at the services, for fixtures
	// and checks made there directly, not through the BFF.
	Token string
	// Product is an in-stock product the customer's orders take, one at
	// a time.
	Product string
	// Order is an order of the customer with one item of Product.
	Order string
}

// Customers hands out the generated customers of FaultSeed (user3@…,
// user4@…), one per BFF.
type Customers struct {
	stack    *servicetest.Stack
	next     atomic.Int32
	products []string
}

// NewCustomers reads the catalogue of st for the products with stock
// enough for the suite's orders.
func NewCustomers(t testing.TB, st *servicetest.Stack) *Customers {
	t.Helper()
	status, body := testutil.Do(t, http.DefaultClient, http.MethodGet, st.Product.URL+"/v1/products?limit=100", "", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("the catalogue: %d %s", status, body)
	}
	page := testutil.MustJSON[contract.ProductPage](t, body)
	c := &Customers{stack: st}
	for _, p := range page.Products {
		if p.Stock >= 20 {
			c.products = append(c.products, p.ID)
		}
	}
	if len(c.products) == 0 {
		t.Fatal("no product with 20 in stock")
	}
	return c
}

// Next returns a customer no BFF had yet, with a first order placed.
func (c *Customers) Next(t testing.TB) Customer {
	t.Helper()
	i := int(c.next.Add(1)) - 1
	n := len(seed.FixedAccounts) + i
	if n >= FaultSeed.Users {
		t.Fatalf("more customers than FaultSeed has (%d)", FaultSeed.Users)
	}
	cu := Customer{
		Email:    fmt.Sprintf("user%d@example.com", n),
		Password: seed.GeneratedPassword,
		ID:       seed.UserID(n),
		Product:  c.products[i%len(c.products)],
	}
	cu.Token = c.stack.Token(t, cu.Email, cu.Password)
	cu.Order = cu.Place(t, c.stack, fmt.Sprintf("fault-fixture-%d", n)).ID
	return cu
}

// Place places an order of one unit of the customer's product under key,
// at the order service itself.
func (cu Customer) Place(t testing.TB, st *servicetest.Stack, key string) contract.Order {
	t.Helper()
	req := contract.PlaceOrderRequest{UserID: cu.ID, Items: []contract.ReservationItem{{ProductID: cu.Product, Quantity: 1}}}
	status, body := testutil.Do(t, http.DefaultClient, http.MethodPost, st.Order.URL+"/v1/orders", cu.Token, req,
		http.Header{contract.IdempotencyKeyHeader: {key}})
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("place an order for %s: %d %s", cu.Email, status, body)
	}
	return testutil.MustJSON[contract.Order](t, body)
}

// Orders returns the customer's orders at the order service: how many,
// and the newest.
func (cu Customer) Orders(t testing.TB, st *servicetest.Stack) (int, contract.Order) {
	t.Helper()
	status, body := testutil.Do(t, http.DefaultClient, http.MethodGet, st.Order.URL+"/v1/orders?limit=1", cu.Token, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("orders of %s: %d %s", cu.Email, status, body)
	}
	page := testutil.MustJSON[contract.OrderPage](t, body)
	var newest contract.Order
	if len(page.Orders) > 0 {
		newest = page.Orders[0]
	}
	return page.TotalCount, newest
}

// OrderAt reads one of the customer's orders at the order service.
func (cu Customer) OrderAt(t testing.TB, st *servicetest.Stack, id string) contract.Order {
	t.Helper()
	status, body := testutil.Do(t, http.DefaultClient, http.MethodGet, st.Order.URL+"/v1/orders/"+id, cu.Token, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("order %s: %d %s", id, status, body)
	}
	return testutil.MustJSON[contract.Order](t, body)
}

// PlaceOrderRun is the run of a client's PlaceOrder document (vars place
// an order of the customer under a key of the case's own) by c, signed
// in as cu. Its check sends the document again, with the same key and no
// fault, as a client does after a failure, and wants exactly one order
// placed in all, the one the first answer named if it named one: the
// placement happened once whatever the fault did.
func PlaceOrderRun(t *testing.T, env *Env, c *Client, cu Customer, vars map[string]any) FaultRun {
	before, _ := cu.Orders(t, env.Stack)
	placed := func(t *testing.T, r Response) string {
		data := decodeData(t, r)
		id, _ := valueAt(data, "placeOrder.order.id")
		s, _ := id.(string)
		errs, _ := valueAt(data, "placeOrder.userErrors")
		if list, _ := errs.([]any); s != "" && len(list) > 0 {
			t.Errorf("an order and user errors: %s", r.Data)
		}
		return s
	}
	return FaultRun{
		Send: func(t *testing.T) Response { return c.Op(t, "PlaceOrder", vars) },
		Check: func(t *testing.T, r Response, failed bool) {
			first := placed(t, r)
			if !failed && first == "" {
				t.Fatalf("no order placed: %s", r.Raw)
			}
			again := c.Op(t, "PlaceOrder", vars)
			second := placed(t, again)
			if again.Status != http.StatusOK || len(again.Errors) > 0 || second == "" {
				t.Fatalf("sent again: %d %s", again.Status, again.Raw)
			}
			if first != "" && first != second {
				t.Errorf("sent again with its key: order %s, then %s; want the same order", first, second)
			}
			after, newest := cu.Orders(t, env.Stack)
			if after != before+1 || newest.ID != second {
				t.Errorf("%d orders placed (the newest %s), want exactly one: %s", after-before, newest.ID, second)
			}
		},
	}
}
