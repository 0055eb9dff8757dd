package telemetry

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Env are the standard OTEL_* variables tracing is configured with, read
// through a getenv rather than from the process's environment, so that
// tests can run several services, each with its own, in one process.
type Env struct {
	TracesEndpoint string // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	Endpoint       string // OTEL_EXPORTER_OTLP_ENDPOINT
	ServiceName    string // OTEL_SERVICE_NAME
	Sampler        string // OTEL_TRACES_SAMPLER
	SamplerArg     string // OTEL_TRACES_SAMPLER_ARG
	ScheduleDelay  string // OTEL_BSP_SCHEDULE_DELAY
}

// EnvFrom reads the OTEL_* variables through getenv.
func EnvFrom(getenv func(string) string) Env {
	return Env{
		TracesEndpoint: getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
		Endpoint:       getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		ServiceName:    getenv("OTEL_SERVICE_NAME"),
		Sampler:        getenv("OTEL_TRACES_SAMPLER"),
		SamplerArg:     getenv("OTEL_TRACES_SAMPLER_ARG"),
		ScheduleDelay:  getenv("OTEL_BSP_SCHEDULE_DELAY"),
	}
}

// NewTracerProvider returns the tracer provider env describes, and the
// function that flushes and stops it; a nil shutdown means nothing is
// exported (the provider is then nil: use a no-op one).
//
//   - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL), else
//     OTEL_EXPORTER_OTLP_ENDPOINT (a base URL; /v1/traces is added): where
//     spans go, by OTLP over HTTP (protobuf). Neither set: no export.
//   - OTEL_SERVICE_NAME: the service.name of the spans (default: service).
//   - OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG: always_on,
//     always_off, traceidratio, parentbased_always_on (the default),
//     parentbased_always_off or parentbased_traceidratio, with the ratio
//     as the argument. Parent-based samplers honour the caller's sampled
//     flag.
//   - OTEL_BSP_SCHEDULE_DELAY: milliseconds between two exports (5000).
func NewTracerProvider(ctx context.Context, service string, env Env) (trace.TracerProvider, func(context.Context) error, error) {
	endpoint := env.TracesEndpoint
	if endpoint == "" && env.Endpoint != "" {
		endpoint = strings.TrimRight(env.Endpoint, "/") + "/v1/traces"
	}
	if endpoint == "" {
		return nil, nil, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("OTLP traces endpoint %q: want an http(s) URL", endpoint)
	}
	sampler, err := samplerFrom(env.Sampler, env.SamplerArg)
	if err != nil {
		return nil, nil, err
	}
	delay := 5 * time.Second
	if v := env.ScheduleDelay; v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return nil, nil, fmt.Errorf("OTEL_BSP_SCHEDULE_DELAY %q: want a positive number of milliseconds", v)
		}
		delay = time.Duration(ms) * time.Millisecond
	}
	name := env.ServiceName
	if name == "" {
		name = service
	}
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter, sdktrace.WithBatchTimeout(delay)),
		sdktrace.WithSampler(sampler),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", name))),
	)
	return tp, tp.Shutdown, nil
}

// samplerFrom returns the sampler OTEL_TRACES_SAMPLER names.
func samplerFrom(name, arg string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(r >= 0 && r <= 1) { // NaN too
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q: want a ratio from 0 to 1", arg)
		}
		return r, nil
	}
	// The specification's values are case-insensitive.
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(strings.TrimSpace(name), "traceidratio") {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER %q is not one this build knows", name)
}
