package e2e_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	web "github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/services/servicetest"
)

// span is one span the receiver got, with the service that sent it.
type span struct {
	service          string
	traceID, spanID  string
	parentID         string
	name             string
	kind             tracepb.Span_SpanKind
	attrs            map[string]string
	events           []string
	statusCodeString string
}

// otlpReceiver is an OTLP/HTTP trace receiver (POST /v1/traces, protobuf),
// as a collector would be.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("the receiver got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "not OTLP/HTTP protobuf", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			t.Errorf("the receiver got a body that is not an ExportTraceServiceRequest: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rcv.add(&req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		_, _ = w.Write(b)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

func (rcv *otlpReceiver) add(req *collectortrace.ExportTraceServiceRequest) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := span{
					service:          service,
					traceID:          hex.EncodeToString(s.GetTraceId()),
					spanID:           hex.EncodeToString(s.GetSpanId()),
					parentID:         hex.EncodeToString(s.GetParentSpanId()),
					name:             s.GetName(),
					kind:             s.GetKind(),
					attrs:            map[string]string{},
					statusCodeString: s.GetStatus().GetCode().String(),
				}
				for _, kv := range s.GetAttributes() {
					v := kv.GetValue()
					switch {
					case v.GetStringValue() != "":
						sp.attrs[kv.GetKey()] = v.GetStringValue()
					default:
						sp.attrs[kv.GetKey()] = v.String()
					}
				}
				for _, e := range s.GetEvents() {
					sp.events = append(sp.events, e.GetName())
				}
				rcv.spans = append(rcv.spans, sp)
			}
		}
	}
}

// trace returns the spans received of one trace.
func (rcv *otlpReceiver) trace(traceID string) []span {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var out []span
	for _, s := range rcv.spans {
		if s.traceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// TestOneDashboardRequestIsOneTrace sends one web Dashboard request with a
// traceparent, as a traced browser or edge proxy would, to the web BFF and
// the three services, all exporting to an OTLP/HTTP receiver in this test.
// The trace it receives is one tree under the caller's span: the BFF's
// server span, its GraphQL operation span, its calls to each service, and
// each service's server span under the call that reached it (with the
// database's spans under those). No span carries an email or a token, and
// the BFF's log lines of the request carry its trace and span ids.
func TestOneDashboardRequestIsOneTrace(t *testing.T) {
	rcv := newOTLPReceiver(t)
	otel := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL, "OTEL_BSP_SCHEDULE_DELAY": "50"}
	tel, err := telemetry.New(t.Context(), "bff-web", telemetry.Env{Endpoint: rcv.URL, ScheduleDelay: "50"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(t.Context()) })
	logs := &lockedBuffer{}
	env := bfftest.Start(t, bfftest.Options{
		Kind: config.Web, Build: web.NewWithDeps, OperationsDir: "../../bff-web/operations",
		Stack:     servicetest.StackOptions{Env: otel},
		Telemetry: tel,
		Logger:    telemetry.NewLogger(logs, "bff-web"),
	})
	c := env.NewClient()
	if r := c.Op(t, "Login", map[string]any{"email": "ada@example.com", "password": "ada123"}); len(r.Errors) > 0 {
		t.Fatalf("login: %s", r.Raw)
	}

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const callerSpan = "00f067aa0ba902b7"
	c.Header.Set("traceparent", "00-"+traceID+"-"+callerSpan+"-01")
	r := c.Op(t, "Dashboard", nil)
	c.Header.Del("traceparent")
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("Dashboard: %d %s", r.Status, r.Raw)
	}

	// Every process exports within 50 ms; wait until the services' server
	// spans are all in.
	var spans []span
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans = rcv.trace(traceID)
		services := map[string]bool{}
		for _, s := range spans {
			if s.kind == tracepb.Span_SPAN_KIND_SERVER {
				services[s.service] = true
			}
		}
		if (services["bff-web"] && services["user"] && services["order"] && services["product"]) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	byID := map[string]span{}
	for _, s := range spans {
		byID[s.spanID] = s
	}
	describe := func() string {
		var b strings.Builder
		for _, s := range spans {
			b.WriteString("\n  " + s.service + " " + s.kind.String() + " " + s.name + " " + s.spanID + " <- " + s.parentID)
		}
		return b.String()
	}

	// The BFF's server span continues the caller's.
	var server span
	for _, s := range spans {
		if s.service == "bff-web" && s.kind == tracepb.Span_SPAN_KIND_SERVER {
			server = s
		}
	}
	if server.spanID == "" || server.parentID != callerSpan || server.name != "POST /graphql" {
		t.Fatalf("no BFF server span under the caller's %s named POST /graphql; spans:%s", callerSpan, describe())
	}
	// The operation's span is the server span's child.
	var operation span
	for _, s := range spans {
		if s.name == "query Dashboard" {
			operation = s
		}
	}
	if operation.parentID != server.spanID || operation.attrs["graphql.operation.name"] != "Dashboard" || operation.attrs["graphql.operation.type"] != "query" {
		t.Errorf("operation span %+v is not the server span's child with the operation's name and type; spans:%s", operation, describe())
	}
	// Every span descends from the caller's, through spans of this trace.
	for _, s := range spans {
		for hop, cur := 0, s; cur.parentID != callerSpan; hop++ {
			parent, ok := byID[cur.parentID]
			if !ok || hop > 20 {
				t.Errorf("%s span %q does not descend from the caller's (parent %s); spans:%s", s.service, s.name, cur.parentID, describe())
				break
			}
			cur = parent
		}
	}
	// Each service's server spans are children of client spans calling
	// that service: at least one from the BFF under the operation, and
	// others from a service (the order service fetching the user
	// service's keys to check the caller's token).
	for _, svc := range []string{"user", "order", "product"} {
		fromBFF := false
		for _, s := range spans {
			if s.service != svc || s.kind != tracepb.Span_SPAN_KIND_SERVER {
				continue
			}
			client, ok := byID[s.parentID]
			if !ok || client.kind != tracepb.Span_SPAN_KIND_CLIENT || client.attrs["peer.service"] != svc {
				t.Errorf("%s server span %q is not the child of a client span to %s (parent %+v)", svc, s.name, svc, client)
			}
			if client.service == "bff-web" {
				fromBFF = true
			}
			if strings.Contains(s.name, "usr_") || strings.Contains(s.name, "ord_") {
				t.Errorf("%s span name %q holds an id", svc, s.name)
			}
		}
		if !fromBFF {
			t.Errorf("no server span of the %s service under a BFF client span; spans:%s", svc, describe())
		}
	}
	// Each dataloader batch is a span with its size, under the operation.
	batches := 0
	for _, s := range spans {
		if strings.HasPrefix(s.name, "loader.") {
			batches++
			if s.attrs["loader.batch.size"] == "" {
				t.Errorf("batch span %q has no loader.batch.size", s.name)
			}
		}
	}
	if batches == 0 {
		t.Errorf("no dataloader batch span; spans:%s", describe())
	}
	// The services' database work is in the trace too, each span named
	// after its query's summary ("SELECT orders").
	db := 0
	for _, s := range spans {
		if s.attrs["db.system.name"] == "sqlite" {
			db++
			if !strings.HasPrefix(s.name, "SELECT ") && !strings.HasPrefix(s.name, "sql.") {
				t.Errorf("database span %q is named neither after its query nor its method", s.name)
			}
			if parent := byID[s.parentID]; parent.service != s.service {
				t.Errorf("database span %q of %s is not under a span of its service", s.name, s.service)
			}
		}
	}
	if db == 0 {
		t.Errorf("no database span; spans:%s", describe())
	}
	// No personal data, credential or id in any attribute: paths are
	// templates, queries redacted.
	for _, s := range spans {
		for k, v := range s.attrs {
			if strings.Contains(v, "@") || strings.Contains(v, "Bearer") || strings.Contains(v, "eyJ") || strings.Contains(v, "bff_session") ||
				strings.Contains(v, "usr_") || strings.Contains(v, "prd_") || strings.Contains(v, "ord_") {
				t.Errorf("%s span %q attribute %s = %q", s.service, s.name, k, v)
			}
		}
	}

	// Placing an order: the order service carries the trace on to the
	// product service, whose server span is under the order service's
	// client span.
	const placeTrace = "5bf92f3577b34da6a3ce929d0e0e4737"
	c.Header.Set("traceparent", "00-"+placeTrace+"-"+callerSpan+"-01")
	r = c.Op(t, "PlaceOrder", map[string]any{"input": map[string]any{
		"idempotencyKey": "trace-test-1",
		"items":          []map[string]any{{"productId": seed.ProductID(1), "quantity": 1}},
	}})
	c.Header.Del("traceparent")
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("PlaceOrder: %d %s", r.Status, r.Raw)
	}
	chained := false
	for deadline := time.Now().Add(10 * time.Second); !chained && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		placed := rcv.trace(placeTrace)
		ids := map[string]span{}
		for _, s := range placed {
			ids[s.spanID] = s
		}
		for _, s := range placed {
			if parent, ok := ids[s.parentID]; ok && s.service == "product" && s.kind == tracepb.Span_SPAN_KIND_SERVER &&
				parent.service == "order" && parent.kind == tracepb.Span_SPAN_KIND_CLIENT {
				chained = true
			}
		}
	}
	if !chained {
		t.Errorf("no product server span under an order service client span in the PlaceOrder trace")
	}

	// The BFF's access log line of the request carries its trace.
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	logged := false
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["msg"] != "request" {
			continue
		}
		if line["trace_id"] == traceID {
			logged = line["span_id"] != nil && line["span_id"] != ""
		}
	}
	if !logged {
		t.Errorf("no access log line with trace_id %s and a span_id; logs:\n%s", traceID, logs.String())
	}
}
