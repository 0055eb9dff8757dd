package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// logged decodes the one JSON line of buf.
func logged(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %q", len(lines), buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("log line %q: %v", lines[0], err)
	}
	return m
}

func TestLoggerCarriesTheTrace(t *testing.T) {
	t.Parallel()
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	const wantTrace, wantSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	withSpan := trace.ContextWithSpanContext(context.Background(), sc)
	// A span context with a trace id but no span id is not valid.
	invalid := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: sc.TraceID()}))

	cases := []struct {
		name      string
		ctx       context.Context
		decorate  func(*slog.Logger) *slog.Logger
		group     string // where trace_id and the record's attributes land
		wantTrace bool
	}{
		{"span", withSpan, nil, "", true},
		{"no span", context.Background(), nil, "", false},
		{"invalid span context", invalid, nil, "", false},
		{"WithAttrs, span", withSpan, func(l *slog.Logger) *slog.Logger { return l.With("k", "v") }, "", true},
		{"WithAttrs, no span", context.Background(), func(l *slog.Logger) *slog.Logger { return l.With("k", "v") }, "", false},
		{"WithGroup, span", withSpan, func(l *slog.Logger) *slog.Logger { return l.WithGroup("g") }, "g", true},
		{"WithGroup, no span", context.Background(), func(l *slog.Logger) *slog.Logger { return l.WithGroup("g") }, "g", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger := NewLogger(&buf, "order")
			if c.decorate != nil {
				logger = c.decorate(logger)
			}
			logger.InfoContext(c.ctx, "hello", "n", 1)
			m := logged(t, &buf)
			if m["msg"] != "hello" || m["level"] != "INFO" || m["service"] != "order" {
				t.Errorf("record %v: want msg hello, level INFO, service order", m)
			}
			if c.decorate != nil && c.group == "" && m["k"] != "v" {
				t.Errorf("record %v lost the logger's attribute k=v", m)
			}
			// The record's own attributes, and the ids added to them, are
			// in the logger's group when it has one.
			attrs := m
			if c.group != "" {
				g, ok := m[c.group].(map[string]any)
				if !ok {
					t.Fatalf("record %v has no group %q", m, c.group)
				}
				attrs = g
			}
			if attrs["n"] != float64(1) {
				t.Errorf("record %v lost its attribute n=1", m)
			}
			for key, want := range map[string]string{"trace_id": wantTrace, "span_id": wantSpan} {
				got, ok := attrs[key]
				if !c.wantTrace {
					if ok || strings.Contains(buf.String(), key) {
						t.Errorf("record without a span has %s: %s", key, buf.String())
					}
					continue
				}
				if got != want {
					t.Errorf("%s = %v, want %s (record %s)", key, got, want, buf.String())
				}
			}
		})
	}
}

func TestLogHandlerKeepsTheLevel(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := LogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, h := range []slog.Handler{h, h.WithAttrs([]slog.Attr{slog.String("k", "v")}), h.WithGroup("g")} {
		if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelWarn) {
			t.Errorf("%T: Info enabled %v, Warn enabled %v; want false, true", h,
				h.Enabled(context.Background(), slog.LevelInfo), h.Enabled(context.Background(), slog.LevelWarn))
		}
		if _, ok := h.(traceHandler); !ok {
			t.Errorf("%T is not the trace handler", h)
		}
	}
}
