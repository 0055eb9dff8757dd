package telemetry

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	tel := NewNoop("svc")
	a := prometheus.NewCounter(prometheus.CounterOpts{Name: "a_total", Help: "a"})
	b := prometheus.NewCounter(prometheus.CounterOpts{Name: "b_total", Help: "b"})
	if err := tel.Register(a); err != nil {
		t.Fatalf("first Register: %v", err)
	}
	err := tel.Register(a)
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) || are.ExistingCollector != a {
		t.Fatalf("second Register of the same collector: %v, want AlreadyRegisteredError", err)
	}
	// Every collector is tried: b is registered although a fails again.
	if err := tel.Register(a, b); !errors.As(err, &are) {
		t.Errorf("Register(a, b): %v, want AlreadyRegisteredError", err)
	}
	b.Add(2)
	wantSeries(t, "b_total", series(t, tel.Registry, "b_total"), map[string]uint64{"": 2})
	// The HTTP metrics are registered by NewNoop: the same name again fails.
	dup := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_client_breaker_refusals_total", Help: "dup"}, []string{"service"})
	if err := tel.Register(dup); err == nil {
		t.Error("registering http_client_breaker_refusals_total again: no error")
	}
	if err := tel.Register(); err != nil {
		t.Errorf("Register(): %v", err)
	}
}

func TestMustRegisterPanicsOnADuplicate(t *testing.T) {
	t.Parallel()
	tel := NewNoop("svc")
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "c"})
	tel.MustRegister(c)
	c.Add(3)
	wantSeries(t, "c_total", series(t, tel.Registry, "c_total"), map[string]uint64{"": 3})
	defer func() {
		if recover() == nil {
			t.Error("MustRegister of the same collector twice did not panic")
		}
	}()
	tel.MustRegister(c)
}

func TestNoopInstancesAreIndependent(t *testing.T) {
	t.Parallel()
	// Nothing is global: two processes in one test each have their own.
	a, b := NewNoop("a"), NewNoop("b")
	a.http.refusals.WithLabelValues("user").Inc()
	const name = "http_client_breaker_refusals_total"
	wantSeries(t, name, series(t, a.Registry, name), map[string]uint64{"service=user": 1})
	wantSeries(t, name, series(t, b.Registry, name), nil)
}
