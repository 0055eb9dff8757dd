package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/acme/bff-gateway/services/internal/platform"
)

type fakeConfig struct{ args []string }

type fakeService struct {
	url    string
	served bool
	err    error
}

func (s *fakeService) URL() string { return s.url }

func (s *fakeService) Serve(ctx context.Context) error {
	s.served = true
	return s.err
}

func parseFake(args []string, getenv func(string) string) (fakeConfig, error) {
	if getenv("FAIL_PARSE") != "" {
		return fakeConfig{}, errors.New("bad config")
	}
	return fakeConfig{args: args}, nil
}

func TestRunStartsLogsAndServes(t *testing.T) {
	svc := &fakeService{url: "http://127.0.0.1:1234", err: errors.New("serve ended")}
	var gotCfg fakeConfig
	start := func(ctx context.Context, cfg fakeConfig, logger *slog.Logger) (*fakeService, error) {
		gotCfg = cfg
		return svc, nil
	}
	var stderr bytes.Buffer
	err := platform.Run(t.Context(), "demo", []string{"-x"}, func(string) string { return "" }, &stderr, parseFake, start)
	if !errors.Is(err, svc.err) {
		t.Errorf("Run = %v, want Serve's error", err)
	}
	if !svc.served || !slices.Equal(gotCfg.args, []string{"-x"}) {
		t.Errorf("served %v with args %v, want served with [-x]", svc.served, gotCfg.args)
	}
	var line map[string]any
	if err := json.Unmarshal(stderr.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", stderr.String(), err)
	}
	if line["msg"] != "listening" || line["url"] != svc.url || line["service"] != "demo" {
		t.Errorf("log line %v, want listening at %s from demo", line, svc.url)
	}
}

func TestRunStopsAtTheFirstError(t *testing.T) {
	startErr := errors.New("no port")
	started := false
	start := func(ctx context.Context, cfg fakeConfig, logger *slog.Logger) (*fakeService, error) {
		started = true
		return nil, startErr
	}
	var stderr bytes.Buffer
	failParse := func(k string) string { return map[string]string{"FAIL_PARSE": "1"}[k] }
	if err := platform.Run(t.Context(), "demo", nil, failParse, &stderr, parseFake, start); err == nil || started {
		t.Errorf("bad config: Run = %v, started %v; want the error and no start", err, started)
	}
	if err := platform.Run(t.Context(), "demo", nil, func(string) string { return "" }, &stderr, parseFake, start); !errors.Is(err, startErr) {
		t.Errorf("failed start: Run = %v, want %v", err, startErr)
	}
	if stderr.Len() != 0 {
		t.Errorf("logged %q before listening", stderr.String())
	}
}
