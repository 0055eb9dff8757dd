package cluster_test

import (
	"os"
	"testing"

	"github.com/acme/bff-gateway/internal/e2e/cluster"
)

func TestParseCPUTicks(t *testing.T) {
	// A command name with a space and a parenthesis: fields count from
	// the last ')'. utime is 1200, stime 34.
	stat := "4242 (bff (web) x) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1200 34 0 0 20 0 9 0 100 1000000 5000 18446744073709551615\n"
	got, err := cluster.ParseCPUTicks(stat)
	if err != nil || got != 1234 {
		t.Fatalf("parseCPUTicks = %d, %v; want 1234", got, err)
	}
	if _, err := cluster.ParseCPUTicks("4242 (short) S 1 2"); err == nil {
		t.Error("a truncated stat line parsed")
	}
	if _, err := cluster.ParseCPUTicks("no command name"); err == nil {
		t.Error("a line without a command name parsed")
	}
}

func TestProcOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := cluster.CPUTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if v, err := cluster.StatusMiB(os.Getpid(), "VmRSS"); err != nil || v <= 0 {
		t.Fatalf("VmRSS of this process = %v, %v", v, err)
	}
	if n, err := cluster.OpenFDs(os.Getpid()); err != nil || n < 3 {
		t.Fatalf("open file descriptors of this process = %d, %v; want stdin, stdout and stderr at least", n, err)
	}
}

func TestParseStatusMiB(t *testing.T) {
	status := "Name:\tbff-web\nVmPeak:\t 1300000 kB\nVmHWM:\t   53248 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n"
	for field, want := range map[string]float64{"VmHWM": 52, "VmRSS": 40} {
		got, err := cluster.ParseStatusMiB(status, field)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", field, got, err, want)
		}
	}
	if _, err := cluster.ParseStatusMiB(status, "VmSwap"); err == nil {
		t.Error("a missing field parsed")
	}
	if _, err := cluster.ParseStatusMiB("Threads:\t9\n", "Threads"); err == nil {
		t.Error("a field without kB parsed as memory")
	}
}
