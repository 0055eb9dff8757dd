package telemetry

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

const (
	parentBasedOn = "ParentBased{root:AlwaysOnSampler,remoteParentSampled:AlwaysOnSampler," +
		"remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"
	parentBasedOff = "ParentBased{root:AlwaysOffSampler,remoteParentSampled:AlwaysOnSampler," +
		"remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"
)

func parentBasedRatio(ratio string) string {
	return "ParentBased{root:TraceIDRatioBased{" + ratio + "},remoteParentSampled:AlwaysOnSampler," +
		"remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"
}

func TestSamplerFromDescriptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, arg string
		want      string
	}{
		{"", "", parentBasedOn},
		{"parentbased_always_on", "", parentBasedOn},
		{"parentbased_always_off", "", parentBasedOff},
		{"always_on", "", "AlwaysOnSampler"},
		{"always_off", "", "AlwaysOffSampler"},
		// The argument is only read by the ratio samplers.
		{"always_on", "abc", "AlwaysOnSampler"},
		{"parentbased_always_on", "2", parentBasedOn},
		{"traceidratio", "0.1", "TraceIDRatioBased{0.1}"},
		{"traceidratio", "0.25", "TraceIDRatioBased{0.25}"},
		{"traceidratio", "", "TraceIDRatioBased{1}"},
		{"traceidratio", "0", "TraceIDRatioBased{0}"},
		{"traceidratio", "1", "TraceIDRatioBased{1}"},
		{"parentbased_traceidratio", "0.1", parentBasedRatio("0.1")},
		{"parentbased_traceidratio", "", parentBasedRatio("1")},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+c.arg, func(t *testing.T) {
			t.Parallel()
			s, err := samplerFrom(c.name, c.arg)
			if err != nil {
				t.Fatalf("samplerFrom(%q, %q): %v", c.name, c.arg, err)
			}
			if got := s.Description(); got != c.want {
				t.Errorf("samplerFrom(%q, %q).Description() =\n %s\nwant\n %s", c.name, c.arg, got, c.want)
			}
		})
	}
}

func TestSamplerFromDecisions(t *testing.T) {
	t.Parallel()
	const (
		sample = sdktrace.RecordAndSample
		drop   = sdktrace.Drop
	)
	// root: no parent; sampled/unsampled: a remote parent (an incoming
	// traceparent) with the sampled flag set or not.
	cases := []struct {
		name, arg                string
		root, sampled, unsampled sdktrace.SamplingDecision
	}{
		{"", "", sample, sample, drop},
		{"parentbased_always_on", "", sample, sample, drop},
		{"parentbased_always_off", "", drop, sample, drop},
		{"parentbased_traceidratio", "0", drop, sample, drop},
		{"parentbased_traceidratio", "1", sample, sample, drop},
		{"always_on", "", sample, sample, sample},
		{"always_off", "", drop, drop, drop},
		{"traceidratio", "0", drop, drop, drop},
		{"traceidratio", "1", sample, sample, sample},
	}
	traceID := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	parent := func(flags trace.TraceFlags) context.Context {
		return trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    traceID,
			SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
			TraceFlags: flags,
			Remote:     true,
		}))
	}
	for _, c := range cases {
		t.Run(c.name+"/"+c.arg, func(t *testing.T) {
			t.Parallel()
			s, err := samplerFrom(c.name, c.arg)
			if err != nil {
				t.Fatalf("samplerFrom(%q, %q): %v", c.name, c.arg, err)
			}
			for _, p := range []struct {
				what string
				ctx  context.Context
				want sdktrace.SamplingDecision
			}{
				{"no parent", context.Background(), c.root},
				{"sampled remote parent", parent(trace.FlagsSampled), c.sampled},
				{"unsampled remote parent", parent(0), c.unsampled},
			} {
				got := s.ShouldSample(sdktrace.SamplingParameters{
					ParentContext: p.ctx, TraceID: traceID, Name: "GET /v1/orders", Kind: trace.SpanKindServer,
				}).Decision
				if got != p.want {
					t.Errorf("%s: decision %v, want %v", p.what, got, p.want)
				}
			}
		})
	}
}

func TestSamplerNamesAreCaseInsensitive(t *testing.T) {
	t.Parallel()
	// The specification's enum values are case-insensitive.
	for name, want := range map[string]string{
		"AlwaysOff":                sdktrace.NeverSample().Description(),
		" always_on ":              sdktrace.AlwaysSample().Description(),
		"TraceIdRatio":             sdktrace.TraceIDRatioBased(0.25).Description(),
		"ParentBased_TraceIDRatio": sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.25)).Description(),
		"PARENTBASED_ALWAYS_OFF":   sdktrace.ParentBased(sdktrace.NeverSample()).Description(),
	} {
		s, err := samplerFrom(name, "0.25")
		if name == "AlwaysOff" {
			if err == nil {
				t.Errorf("samplerFrom(%q) = %s, want an error (the name is always_off)", name, s.Description())
			}
			continue
		}
		if err != nil {
			t.Errorf("samplerFrom(%q): %v", name, err)
			continue
		}
		if got := s.Description(); got != want {
			t.Errorf("samplerFrom(%q) = %s, want %s", name, got, want)
		}
	}
}

func TestSamplerFromRatioIsApplied(t *testing.T) {
	t.Parallel()
	// TraceIDRatioBased keeps a trace when its last 8 bytes, shifted right
	// once, are below ratio·2⁶³: all zeros always pass, all ones never do
	// below a ratio of 1.
	low := trace.TraceID{0: 1}
	high := trace.TraceID{0: 1, 8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}
	for _, name := range []string{"traceidratio", "parentbased_traceidratio"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := samplerFrom(name, "0.5")
			if err != nil {
				t.Fatal(err)
			}
			decide := func(id trace.TraceID) sdktrace.SamplingDecision {
				return s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: id, Name: "x"}).Decision
			}
			if got := decide(low); got != sdktrace.RecordAndSample {
				t.Errorf("low trace id: %v, want RecordAndSample", got)
			}
			if got := decide(high); got != sdktrace.Drop {
				t.Errorf("high trace id: %v, want Drop", got)
			}
		})
	}
}

func TestSamplerFromErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, arg string
		variable  string
		value     string
	}{
		{"traceidratio", "-1", "OTEL_TRACES_SAMPLER_ARG", "-1"},
		{"traceidratio", "2", "OTEL_TRACES_SAMPLER_ARG", "2"},
		{"traceidratio", "abc", "OTEL_TRACES_SAMPLER_ARG", "abc"},
		{"traceidratio", "1.0001", "OTEL_TRACES_SAMPLER_ARG", "1.0001"},
		{"traceidratio", "+Inf", "OTEL_TRACES_SAMPLER_ARG", "+Inf"},
		{"traceidratio", "NaN", "OTEL_TRACES_SAMPLER_ARG", "NaN"},
		{"parentbased_traceidratio", "NaN", "OTEL_TRACES_SAMPLER_ARG", "NaN"},
		{"parentbased_traceidratio", "-1", "OTEL_TRACES_SAMPLER_ARG", "-1"},
		{"parentbased_traceidratio", "2", "OTEL_TRACES_SAMPLER_ARG", "2"},
		{"parentbased_traceidratio", "abc", "OTEL_TRACES_SAMPLER_ARG", "abc"},
		{"xray", "", "OTEL_TRACES_SAMPLER", "xray"},
		{"jaeger_remote", "", "OTEL_TRACES_SAMPLER", "jaeger_remote"},
		{"always", "", "OTEL_TRACES_SAMPLER", "always"},
		{"traceid_ratio", "0.1", "OTEL_TRACES_SAMPLER", "traceid_ratio"},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+c.arg, func(t *testing.T) {
			t.Parallel()
			s, err := samplerFrom(c.name, c.arg)
			if err == nil {
				t.Fatalf("samplerFrom(%q, %q) = %s, want an error", c.name, c.arg, s.Description())
			}
			if s != nil {
				t.Errorf("samplerFrom(%q, %q) returned a sampler with its error", c.name, c.arg)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, c.variable+" ") || !strings.Contains(msg, `"`+c.value+`"`) {
				t.Errorf("samplerFrom(%q, %q) error %q does not name %s and %q", c.name, c.arg, msg, c.variable, c.value)
			}
		})
	}
}

func TestEnvFromReadsTheSixVariables(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom",
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://collector:4318",
		"OTEL_SERVICE_NAME":                  "checkout",
		"OTEL_TRACES_SAMPLER":                "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":            "0.25",
		"OTEL_BSP_SCHEDULE_DELAY":            "250",
	}
	var asked []string
	got := EnvFrom(func(k string) string {
		asked = append(asked, k)
		return vars[k]
	})
	want := Env{
		TracesEndpoint: "http://traces:4318/custom",
		Endpoint:       "http://collector:4318",
		ServiceName:    "checkout",
		Sampler:        "parentbased_traceidratio",
		SamplerArg:     "0.25",
		ScheduleDelay:  "250",
	}
	if got != want {
		t.Errorf("EnvFrom = %+v\nwant %+v", got, want)
	}
	slices.Sort(asked)
	wantAsked := []string{
		"OTEL_BSP_SCHEDULE_DELAY", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	}
	if !slices.Equal(asked, wantAsked) {
		t.Errorf("EnvFrom asked for %q, want each of %q once", asked, wantAsked)
	}
	if got := EnvFrom(func(string) string { return "" }); got != (Env{}) {
		t.Errorf("EnvFrom of an empty environment = %+v, want the zero Env", got)
	}
}

func TestNewTracerProviderWithoutEndpointExportsNothing(t *testing.T) {
	t.Parallel()
	// Everything but an endpoint: still nothing to export.
	env := Env{ServiceName: "checkout", Sampler: "always_on", ScheduleDelay: "10"}
	tp, shutdown, err := NewTracerProvider(t.Context(), "svc", env)
	if tp != nil || shutdown != nil || err != nil {
		t.Fatalf("NewTracerProvider without endpoint = %v, shutdown nil %v, %v; want nil, nil, nil", tp, shutdown == nil, err)
	}

	tel, err := New(t.Context(), "svc", env)
	if err != nil {
		t.Fatal(err)
	}
	if tel.Exporting {
		t.Error("New without endpoint: Exporting = true")
	}
	if tel.Service != "svc" || !tel.Metrics || tel.Registry == nil || tel.Propagator == nil {
		t.Errorf("New without endpoint: Service %q, Metrics %v, Registry %v, Propagator %v", tel.Service, tel.Metrics, tel.Registry, tel.Propagator)
	}
	_, span := tel.Tracer.Tracer("test").Start(t.Context(), "work")
	defer span.End()
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Errorf("New without endpoint: span recording %v, valid %v; want a no-op span", span.IsRecording(), span.SpanContext().IsValid())
	}
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown of non-exporting telemetry: %v", err)
	}
	var none *Telemetry
	if err := none.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown of nil telemetry: %v", err)
	}
}

func TestNewTracerProviderErrors(t *testing.T) {
	t.Parallel()
	const ok = "http://collector:4318"
	cases := []struct {
		name string
		env  Env
		want []string // substrings of the error
	}{
		{"ftp traces endpoint", Env{TracesEndpoint: "ftp://collector:4318/v1/traces"}, []string{`"ftp://collector:4318/v1/traces"`, "http(s) URL"}},
		{"grpc endpoint", Env{Endpoint: "grpc://collector:4317"}, []string{`"grpc://collector:4317/v1/traces"`, "http(s) URL"}},
		{"endpoint without scheme", Env{Endpoint: "collector:4318"}, []string{"collector:4318/v1/traces", "http(s) URL"}},
		{"bare host", Env{Endpoint: "localhost"}, []string{`"localhost/v1/traces"`, "http(s) URL"}},
		{"no host", Env{TracesEndpoint: "http:///v1/traces"}, []string{`"http:///v1/traces"`, "http(s) URL"}},
		{"unparsable", Env{TracesEndpoint: "http://[::1/v1/traces"}, []string{`"http://[::1/v1/traces"`, "http(s) URL"}},
		{"delay not a number", Env{Endpoint: ok, ScheduleDelay: "abc"}, []string{"OTEL_BSP_SCHEDULE_DELAY", `"abc"`}},
		{"delay with unit", Env{Endpoint: ok, ScheduleDelay: "5s"}, []string{"OTEL_BSP_SCHEDULE_DELAY", `"5s"`}},
		{"delay fractional", Env{Endpoint: ok, ScheduleDelay: "1.5"}, []string{"OTEL_BSP_SCHEDULE_DELAY", `"1.5"`}},
		{"delay zero", Env{Endpoint: ok, ScheduleDelay: "0"}, []string{"OTEL_BSP_SCHEDULE_DELAY", `"0"`}},
		{"delay negative", Env{Endpoint: ok, ScheduleDelay: "-10"}, []string{"OTEL_BSP_SCHEDULE_DELAY", `"-10"`}},
		{"unknown sampler", Env{Endpoint: ok, Sampler: "xray"}, []string{"OTEL_TRACES_SAMPLER", `"xray"`}},
		{"bad ratio", Env{Endpoint: ok, Sampler: "traceidratio", SamplerArg: "2"}, []string{"OTEL_TRACES_SAMPLER_ARG", `"2"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tp, shutdown, err := NewTracerProvider(t.Context(), "svc", c.env)
			if err == nil {
				if shutdown != nil {
					_ = shutdown(context.Background())
				}
				t.Fatalf("NewTracerProvider(%+v): no error", c.env)
			}
			if tp != nil || shutdown != nil {
				t.Errorf("NewTracerProvider(%+v) returned a provider with its error", c.env)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %s", err, w)
				}
			}
			tel, err := New(t.Context(), "svc", c.env)
			if err == nil || tel != nil {
				t.Fatalf("New(%+v) = %v, %v; want an error", c.env, tel, err)
			}
			if !strings.HasPrefix(err.Error(), "tracing: ") || !strings.Contains(err.Error(), c.want[0]) {
				t.Errorf("New error %q: want it prefixed with tracing: and naming %s", err, c.want[0])
			}
		})
	}
}

// otlpRequest is one request a fake OTLP collector received.
type otlpRequest struct {
	method, path, contentType string
	body                      []byte // decompressed
}

// newCollector starts a fake OTLP/HTTP collector that answers 200 and
// hands every request it receives on the returned channel.
func newCollector(t *testing.T) (*httptest.Server, <-chan otlpRequest) {
	t.Helper()
	got := make(chan otlpRequest, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- otlpRequest{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), body: b}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// receive waits up to d for the collector's next request.
func receive(t *testing.T, got <-chan otlpRequest, d time.Duration) otlpRequest {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(d):
		t.Fatalf("no OTLP request within %s", d)
		return otlpRequest{}
	}
}

// decoded is what an OTLP export request holds: span names by service.name.
func decoded(t *testing.T, body []byte) map[string][]string {
	t.Helper()
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		t.Fatalf("decode ExportTraceServiceRequest: %v (body %q)", err, body)
	}
	out := map[string][]string{}
	for _, rs := range req.GetResourceSpans() {
		service := "(no service.name)"
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out[service] = append(out[service], s.GetName())
			}
		}
	}
	return out
}

func TestNewExportsSpansByOTLPHTTP(t *testing.T) {
	t.Parallel()
	srv, got := newCollector(t)
	tel, err := New(t.Context(), "svc", Env{Endpoint: srv.URL, ScheduleDelay: "10"})
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Exporting {
		t.Error("New with an endpoint: Exporting = false")
	}
	_, span := tel.Tracer.Tracer("test").Start(t.Context(), "work")
	if !span.IsRecording() || !span.SpanContext().IsSampled() {
		t.Errorf("span recording %v, sampled %v; want both", span.IsRecording(), span.SpanContext().IsSampled())
	}
	span.End()
	// A schedule delay of 10 ms sends the span long before the default
	// 5 s, without waiting for Shutdown.
	req := receive(t, got, 3*time.Second)
	if req.method != http.MethodPost || req.path != "/v1/traces" || req.contentType != "application/x-protobuf" {
		t.Errorf("collector got %s %s (Content-Type %q), want POST /v1/traces (application/x-protobuf)", req.method, req.path, req.contentType)
	}
	if spans := decoded(t, req.body); !slices.Equal(spans["svc"], []string{"work"}) || len(spans) != 1 {
		t.Errorf("exported spans by service: %v, want svc: [work]", spans)
	}
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestNewTracerProviderEndpointsAndServiceName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		env         func(url string) Env
		wantPath    string
		wantService string
	}{
		{"base URL", func(u string) Env { return Env{Endpoint: u} }, "/v1/traces", "svc"},
		{"base URL with a slash", func(u string) Env { return Env{Endpoint: u + "/"} }, "/v1/traces", "svc"},
		{"base URL with a path", func(u string) Env { return Env{Endpoint: u + "/otlp"} }, "/otlp/v1/traces", "svc"},
		{"traces endpoint as is", func(u string) Env { return Env{TracesEndpoint: u + "/custom/spans"} }, "/custom/spans", "svc"},
		{"traces endpoint over base URL", func(u string) Env {
			return Env{TracesEndpoint: u + "/custom/spans", Endpoint: u + "/base"}
		}, "/custom/spans", "svc"},
		{"service name", func(u string) Env { return Env{Endpoint: u, ServiceName: "checkout"} }, "/v1/traces", "checkout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv, got := newCollector(t)
			tp, shutdown, err := NewTracerProvider(t.Context(), "svc", c.env(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if tp == nil || shutdown == nil {
				t.Fatalf("NewTracerProvider with an endpoint: provider %v, shutdown nil %v", tp, shutdown == nil)
			}
			_, span := tp.Tracer("test").Start(t.Context(), "work")
			span.End()
			// The default delay is 5 s: only Shutdown sends the span, and
			// has sent it when it returns.
			if err := shutdown(t.Context()); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			var req otlpRequest
			select {
			case req = <-got:
			default:
				t.Fatal("shutdown returned before the span was exported")
			}
			if req.method != http.MethodPost || req.path != c.wantPath || req.contentType != "application/x-protobuf" {
				t.Errorf("collector got %s %s (Content-Type %q), want POST %s (application/x-protobuf)", req.method, req.path, req.contentType, c.wantPath)
			}
			if spans := decoded(t, req.body); !slices.Equal(spans[c.wantService], []string{"work"}) || len(spans) != 1 {
				t.Errorf("exported spans by service: %v, want %s: [work]", spans, c.wantService)
			}
		})
	}
}

func TestNewTracerProviderSamplerIsUsed(t *testing.T) {
	t.Parallel()
	srv, got := newCollector(t)
	tp, shutdown, err := NewTracerProvider(t.Context(), "svc", Env{Endpoint: srv.URL, Sampler: "always_off"})
	if err != nil {
		t.Fatal(err)
	}
	_, dropped := tp.Tracer("test").Start(t.Context(), "dropped")
	if dropped.IsRecording() || dropped.SpanContext().IsSampled() {
		t.Errorf("always_off: span recording %v, sampled %v", dropped.IsRecording(), dropped.SpanContext().IsSampled())
	}
	dropped.End()
	if err := shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-got:
		t.Errorf("always_off exported %v", decoded(t, req.body))
	default:
	}
}
