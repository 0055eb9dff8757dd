package loadbench_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	mobileops "github.com/acme/bff-gateway/bff-mobile/operations"
	webops "github.com/acme/bff-gateway/bff-web/operations"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/e2e/cluster"
	"github.com/acme/bff-gateway/internal/seed"
)

// productSearchFirst is the page ProductSearch asks for: the catalogue's
// first page, the document's default.
const productSearchFirst = 20

// operation is one contract operation as the load sends it.
type operation struct {
	bff, name string
	// readOnly operations must never fail; a mutation's failures are
	// reported, not fatal.
	readOnly bool
	proc     *cluster.Process // the BFF that answers it
	// services are the user, product and order services behind it.
	services []*cluster.Process
	// next returns the next request; vegeta.ErrNoTargets when the pool it
	// draws from (sessions, orders, stock) is empty, which ends the run.
	next func() (body []byte, header http.Header, err error)
	// accept checks the data of an answer that is HTTP 200 without errors
	// (a mutation: its userErrors), and feeds the pools from it.
	accept func(res *vegeta.Result, data json.RawMessage) error
	// pool names what next draws from, for the report when it ran out.
	pool string
	// quota bounds a run's requests when each consumes one of a pool's
	// items (0: no bound): making them (a sign-in, an order) costs more
	// than the operation, so a run of 2 s at the rate of Logout would
	// take several seconds of sign-ins to prepare.
	quota int
	// feeder is the operation whose answers fill the pool (web Login for
	// Logout, web PlaceOrder for CancelOrder), and available the pool's
	// size: topUp sends it before the warm-up, outside any measurement.
	feeder    *operation
	available func() int
}

// fixtures are what a round's operations share: the signed-in sessions
// and the pools of single-use things some operations consume.
type fixtures struct {
	web, mobile       *cluster.Process
	services          []*cluster.Process
	webURL, mobileURL string
	// adaCookie and adminCookie are web sessions (Cookie header values);
	// adaToken a mobile bearer token. Every worker shares them: a
	// session's cost is its lookup, the same for one user or many.
	adaCookie, adminCookie, adaToken string
	products                         int // seeded products
	users                            int // seeded users
	// sessions are web sessions the Login runs opened, for Logout to end,
	// one per request.
	sessions *pool[string]
	// placed are web orders PlaceOrder placed, for CancelOrder to cancel,
	// one per request.
	placed *pool[placedOrder]
	// stock are units of stock, one product id per unit: PlaceOrder takes
	// one per request, so that none runs out of stock; CancelOrder gives
	// its order's unit back.
	stock *pool[string]
	// cancelling maps an order being cancelled to its product, to give
	// its unit of stock back.
	cancelling sync.Map
	// keys makes idempotency keys unique across rounds and runs.
	keys     atomic.Uint64
	keyStart string
}

type placedOrder struct{ id, product string }

// prepare signs in the accounts the operations use and counts the stock
// of every product at the product service.
func prepare(ctx context.Context, client *http.Client, s stack, sizes cluster.ServiceOptions) (*fixtures, error) {
	fx := &fixtures{
		web: s.web, mobile: s.mobile, services: s.services,
		webURL: s.web.URL() + "/graphql", mobileURL: s.mobile.URL() + "/graphql",
		products: sizes.Products, users: sizes.Users,
		sessions: &pool[string]{}, placed: &pool[placedOrder]{}, stock: &pool[string]{},
		keyStart: randomHex(6),
	}
	web, mobile := cluster.Documents(webops.Documents()), cluster.Documents(mobileops.Documents())
	var err error
	if fx.adaCookie, err = cluster.WebSignIn(ctx, client, fx.webURL, web["Login"], seed.FixedAccounts[1].Email, seed.FixedAccounts[1].Password); err != nil {
		return nil, err
	}
	if fx.adminCookie, err = cluster.WebSignIn(ctx, client, fx.webURL, web["Login"], seed.FixedAccounts[0].Email, seed.FixedAccounts[0].Password); err != nil {
		return nil, err
	}
	if fx.adaToken, err = cluster.MobileSignIn(ctx, client, fx.mobileURL, mobile["Login"], seed.FixedAccounts[1].Email, seed.FixedAccounts[1].Password); err != nil {
		return nil, err
	}
	units, err := stockUnits(ctx, client, s.product.URL(), sizes.Products)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		fx.stock.put(u)
	}
	return fx, nil
}

// operations are every contract operation of both BFFs, in the order they
// run: the reads first, on the data as seeded, then the sign-ins, then
// the orders (the Login runs feed Logout, the web PlaceOrder runs feed
// CancelOrder).
func operations(fx *fixtures) []operation {
	web, mobile := cluster.Documents(webops.Documents()), cluster.Documents(mobileops.Documents())
	ada := http.Header{"Content-Type": {"application/json"}, "Cookie": {fx.adaCookie}}
	admin := http.Header{"Content-Type": {"application/json"}, "Cookie": {fx.adminCookie}}
	anonymous := http.Header{"Content-Type": {"application/json"}}
	app := cluster.MobileAppHeader()
	adaApp := cluster.MobileAppHeader()
	adaApp.Set("Authorization", "Bearer "+fx.adaToken)

	var orderN, productN, userN atomic.Uint64
	// adaOrder cycles over Ada's seeded orders (the first
	// seed.OrdersPerFixedCustomer orders are hers).
	adaOrder := func() map[string]any {
		return map[string]any{"id": seed.OrderID(int(orderN.Add(1)-1) % seed.OrdersPerFixedCustomer)}
	}
	product := func() map[string]any {
		return map[string]any{"id": seed.ProductID(int(productN.Add(1)-1) % fx.products)}
	}
	// generatedUser cycles over the generated users (user3@example.com…),
	// so that sign-ins spread over accounts as real ones do.
	generatedUser := func() map[string]any {
		i := len(seed.FixedAccounts) + int(userN.Add(1)-1)%(fx.users-len(seed.FixedAccounts))
		return map[string]any{"email": fmt.Sprintf("user%d@example.com", i), "password": seed.GeneratedPassword}
	}
	webLogin := operation{bff: "web", name: "Login", next: varying(web["Login"], generatedUser, anonymous), accept: fx.acceptWebLogin}
	webPlaceOrder := operation{bff: "web", name: "PlaceOrder", next: fx.nextPlaceOrder(web["PlaceOrder"], webOrderInput, ada), accept: fx.acceptWebPlaceOrder, pool: "stock"}
	ops := []operation{
		{bff: "web", name: "ProductSearch", readOnly: true, next: fixed(web["ProductSearch"], map[string]any{"first": productSearchFirst}, anonymous)},
		{bff: "web", name: "Dashboard", readOnly: true, next: fixed(web["Dashboard"], nil, ada)},
		{bff: "web", name: "OrderDetail", readOnly: true, next: varying(web["OrderDetail"], adaOrder, ada)},
		{bff: "web", name: "AdminOverview", readOnly: true, next: fixed(web["AdminOverview"], nil, admin)},
		{bff: "mobile", name: "Product", readOnly: true, next: varying(mobile["Product"], product, app)},
		{bff: "mobile", name: "Home", readOnly: true, next: fixed(mobile["Home"], nil, adaApp)},
		{bff: "mobile", name: "OrderList", readOnly: true, next: fixed(mobile["OrderList"], nil, adaApp)},
		webLogin,
		{bff: "web", name: "Logout", next: fx.nextLogout(web["Logout"]), accept: acceptLogout,
			pool: "web sessions", quota: poolQuota, feeder: &webLogin, available: fx.sessions.len},
		{bff: "mobile", name: "Login", next: varying(mobile["Login"], generatedUser, app), accept: acceptMobileLogin},
		webPlaceOrder,
		{bff: "web", name: "CancelOrder", next: fx.nextCancelOrder(web["CancelOrder"], ada), accept: fx.acceptCancelOrder,
			pool: "placed orders", quota: poolQuota, feeder: &webPlaceOrder, available: fx.placed.len},
		{bff: "mobile", name: "PlaceOrder", next: fx.nextPlaceOrder(mobile["PlaceOrder"], mobileOrderInput, adaApp), accept: acceptMobilePlaceOrder, pool: "stock"},
	}
	webLogin.proc, webPlaceOrder.proc = fx.web, fx.web
	for i := range ops {
		ops[i].proc, ops[i].services = fx.web, fx.services
		if ops[i].bff == "mobile" {
			ops[i].proc = fx.mobile
		}
	}
	return ops
}

// coversContract fails when a contract document has no operation here
// (a new document must be benchmarked too) or an operation no document.
func coversContract(ops []operation) error {
	want := map[string]bool{}
	for bff, docs := range map[string]map[string]string{"web": cluster.Documents(webops.Documents()), "mobile": cluster.Documents(mobileops.Documents())} {
		for name := range docs {
			want[bff+" "+name] = true
		}
	}
	got := map[string]bool{}
	for _, op := range ops {
		got[op.bff+" "+op.name] = true
	}
	if !maps.Equal(want, got) {
		return fmt.Errorf("the benchmark's operations %v are not the contract's %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	return nil
}

// fixed sends the same request every time.
func fixed(doc string, vars map[string]any, header http.Header) func() ([]byte, http.Header, error) {
	body := cluster.GraphQLBody(doc, vars)
	return func() ([]byte, http.Header, error) { return body, header, nil }
}

// varying sends doc with the variables vars returns each time.
func varying(doc string, vars func() map[string]any, header http.Header) func() ([]byte, http.Header, error) {
	return func() ([]byte, http.Header, error) { return cluster.GraphQLBody(doc, vars()), header, nil }
}

// nextLogout ends one session the Login runs opened per request.
func (fx *fixtures) nextLogout(doc string) func() ([]byte, http.Header, error) {
	body := cluster.GraphQLBody(doc, nil)
	return func() ([]byte, http.Header, error) {
		cookie, err := fx.sessions.take()
		if err != nil {
			return nil, nil, err
		}
		return body, http.Header{"Content-Type": {"application/json"}, "Cookie": {cookie}}, nil
	}
}

// nextPlaceOrder orders one unit of a product in stock with a fresh
// idempotency key (the same key twice would answer the first order).
func (fx *fixtures) nextPlaceOrder(doc string, vars func(product, key string) map[string]any, header http.Header) func() ([]byte, http.Header, error) {
	return func() ([]byte, http.Header, error) {
		product, err := fx.stock.take()
		if err != nil {
			return nil, nil, err
		}
		key := fmt.Sprintf("loadbench-%s-%d", fx.keyStart, fx.keys.Add(1))
		return cluster.GraphQLBody(doc, vars(product, key)), header, nil
	}
}

func webOrderInput(product, key string) map[string]any {
	return map[string]any{"input": map[string]any{
		"items":          []map[string]any{{"productId": product, "quantity": 1}},
		"idempotencyKey": key,
	}}
}

func mobileOrderInput(product, key string) map[string]any {
	return map[string]any{"items": []map[string]any{{"productId": product, "quantity": 1}}, "idempotencyKey": key}
}

// nextCancelOrder cancels one order a PlaceOrder run placed per request.
func (fx *fixtures) nextCancelOrder(doc string, header http.Header) func() ([]byte, http.Header, error) {
	return func() ([]byte, http.Header, error) {
		o, err := fx.placed.take()
		if err != nil {
			return nil, nil, err
		}
		fx.cancelling.Store(o.id, o.product)
		return cluster.GraphQLBody(doc, map[string]any{"id": o.id}), header, nil
	}
}

// userError is an entry of a mutation's userErrors.
type userError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func userErrorsErr(errs []userError) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("userErrors: %s", errs[0].Code)
}

func (fx *fixtures) acceptWebLogin(res *vegeta.Result, data json.RawMessage) error {
	var d struct {
		Login struct {
			Viewer struct{ ID string } `json:"viewer"`
		} `json:"login"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.Login.Viewer.ID == "" {
		return fmt.Errorf("login: no viewer (%w)", err)
	}
	cookie := cluster.SessionCookie(res.Headers)
	if cookie == "" {
		return errors.New("login: no session cookie")
	}
	fx.sessions.put(cookie)
	return nil
}

func acceptLogout(_ *vegeta.Result, data json.RawMessage) error {
	var d struct {
		Logout bool `json:"logout"`
	}
	if err := json.Unmarshal(data, &d); err != nil || !d.Logout {
		return fmt.Errorf("logout: not true (%w)", err)
	}
	return nil
}

func acceptMobileLogin(_ *vegeta.Result, data json.RawMessage) error {
	var d struct {
		Login struct {
			Token string `json:"token"`
		} `json:"login"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.Login.Token == "" {
		return fmt.Errorf("login: no token (%w)", err)
	}
	return nil
}

func (fx *fixtures) acceptWebPlaceOrder(_ *vegeta.Result, data json.RawMessage) error {
	var d struct {
		PlaceOrder struct {
			Order *struct {
				ID    string `json:"id"`
				Items []struct {
					Product struct {
						ID string `json:"id"`
					} `json:"product"`
				} `json:"items"`
			} `json:"order"`
			UserErrors []userError `json:"userErrors"`
		} `json:"placeOrder"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("placeOrder: %w", err)
	}
	if err := userErrorsErr(d.PlaceOrder.UserErrors); err != nil {
		return err
	}
	o := d.PlaceOrder.Order
	if o == nil || o.ID == "" || len(o.Items) != 1 {
		return errors.New("placeOrder: no order")
	}
	fx.placed.put(placedOrder{id: o.ID, product: o.Items[0].Product.ID})
	return nil
}

func acceptMobilePlaceOrder(_ *vegeta.Result, data json.RawMessage) error {
	var d struct {
		PlaceOrder struct {
			Order *struct {
				ID string `json:"id"`
			} `json:"order"`
			UserErrors []userError `json:"userErrors"`
		} `json:"placeOrder"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("placeOrder: %w", err)
	}
	if err := userErrorsErr(d.PlaceOrder.UserErrors); err != nil {
		return err
	}
	if d.PlaceOrder.Order == nil || d.PlaceOrder.Order.ID == "" {
		return errors.New("placeOrder: no order")
	}
	return nil
}

// acceptCancelOrder checks the order is cancelled and gives its unit of
// stock back to the pool (the order service released it).
func (fx *fixtures) acceptCancelOrder(_ *vegeta.Result, data json.RawMessage) error {
	var d struct {
		CancelOrder struct {
			Order *struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"order"`
			UserErrors []userError `json:"userErrors"`
		} `json:"cancelOrder"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("cancelOrder: %w", err)
	}
	if err := userErrorsErr(d.CancelOrder.UserErrors); err != nil {
		return err
	}
	o := d.CancelOrder.Order
	if o == nil || o.Status != "CANCELLED" {
		return errors.New("cancelOrder: order not CANCELLED")
	}
	if product, ok := fx.cancelling.LoadAndDelete(o.ID); ok {
		fx.stock.put(product.(string))
	}
	return nil
}

// envelope is a GraphQL answer.
type envelope struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
}

// judge says why an answer is a failure, nil when it is a success: HTTP
// 200, a JSON body with data and no errors, and what accept checks.
func judge(res *vegeta.Result, accept func(*vegeta.Result, json.RawMessage) error) error {
	if res.Code == 0 {
		return fmt.Errorf("no answer: %s", res.Error)
	}
	if res.Code != http.StatusOK {
		return fmt.Errorf("HTTP %d", res.Code)
	}
	var env envelope
	if err := json.Unmarshal(res.Body, &env); err != nil {
		return fmt.Errorf("body not JSON: %w", err)
	}
	if len(env.Errors) > 0 {
		e := env.Errors[0]
		if e.Extensions.Code != "" {
			return fmt.Errorf("errors: %s", e.Extensions.Code)
		}
		return fmt.Errorf("errors: %s", e.Message)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return errors.New("no data")
	}
	if accept != nil {
		return accept(res, env.Data)
	}
	return nil
}

// pool is a queue of single-use things the targeter hands out, one per
// request, and the answers feed; it is safe for concurrent use.
type pool[T any] struct {
	mu    sync.Mutex
	items []T
}

// take returns the oldest item, or vegeta.ErrNoTargets when there is
// none: the attack stops, and the run ends early.
func (p *pool[T]) take() (T, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	if len(p.items) == 0 {
		return zero, vegeta.ErrNoTargets
	}
	v := p.items[0]
	p.items[0] = zero
	p.items = p.items[1:]
	return v, nil
}

func (p *pool[T]) put(v T) {
	p.mu.Lock()
	p.items = append(p.items, v)
	p.mu.Unlock()
}

func (p *pool[T]) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

// stockUnits reads every seeded product's stock at the product service
// and returns one product id per unit, interleaved (a unit of each
// product in stock, then again…) so that concurrent orders spread over
// products as a shop's do.
func stockUnits(ctx context.Context, client *http.Client, productURL string, products int) ([]string, error) {
	stock := map[string]int{}
	var ids []string
	for i := range products {
		ids = append(ids, seed.ProductID(i))
	}
	for batch := range slices.Chunk(ids, contract.MaxBatchIDs) {
		var out contract.ProductBatch
		if err := getJSON(ctx, client, productURL+"/v1/products?ids="+strings.Join(batch, ","), &out); err != nil {
			return nil, fmt.Errorf("read the stock: %w", err)
		}
		for _, p := range out.Products {
			stock[p.ID] = p.Stock
		}
	}
	return interleave(ids, stock), nil
}

// interleave returns each id as many times as its count, round-robin in
// the order of ids.
func interleave(ids []string, count map[string]int) []string {
	var out []string
	for round := 0; ; round++ {
		added := false
		for _, id := range ids {
			if count[id] > round {
				out = append(out, id)
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
