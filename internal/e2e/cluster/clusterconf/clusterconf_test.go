package clusterconf

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const statsCSV = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,addr,
web,FRONTEND,,,0,0,9990,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,1,0,,,,0,0,0,0,,,
web,web1,0,0,0,0,,14,0,0,,0,,0,0,0,9,UP,1,1,0,2,1,0,0,,1,2,1,,0,,2,0,,0,L7OK,127.0.0.1:8090,
web,web2,0,0,0,0,,3,0,0,,0,,0,0,2,0,DOWN 1/2,1,1,0,1,0,0,0,,1,2,1,,0,,2,0,,0,L4CON,127.0.0.1:8091,
web,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,0,0,0,,1,0,0,,1,2,0,,0,,1,0,,0,,,
`

func TestParseServerStates(t *testing.T) {
	states, err := ParseServerStates(strings.NewReader(statsCSV))
	if err != nil {
		t.Fatal(err)
	}
	want := []ServerState{
		{Backend: "web", Server: "web1", Addr: "127.0.0.1:8090", Status: "UP", CheckStatus: "L7OK", Sessions: 14, Redispatches: 9, FailedChecks: 2, Downs: 1},
		{Backend: "web", Server: "web2", Addr: "127.0.0.1:8091", Status: "DOWN 1/2", CheckStatus: "L4CON", Sessions: 3, Retries: 2, FailedChecks: 1},
	}
	if len(states) != len(want) {
		t.Fatalf("got %+v, want %+v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Errorf("server %d: %+v, want %+v", i, states[i], want[i])
		}
	}
	if _, err := ParseServerStates(strings.NewReader("# pxname,svname\n")); err == nil {
		t.Error("a CSV without the status column parsed")
	}
}

func TestRenderRefusesWhatHAProxyWouldMisread(t *testing.T) {
	for _, c := range []HAProxyConfig{
		{},
		{StatsBind: "127.0.0.1:1", Frontends: []Frontend{{Name: "web", Bind: "127.0.0.1:2"}}},
		{StatsBind: "127.0.0.1:1", Frontends: []Frontend{{Name: "we b", Bind: "127.0.0.1:2", Servers: []string{"127.0.0.1:3"}}}},
		{StatsBind: "127.0.0.1:1", Frontends: []Frontend{{Name: "stats", Bind: "127.0.0.1:2", Servers: []string{"127.0.0.1:3"}}}},
		{StatsBind: "127.0.0.1:1", Frontends: []Frontend{{Name: "web", Bind: "127.0.0.1:2", Servers: []string{"127.0.0.1:3 backup"}}}},
	} {
		if _, err := c.Render(); err == nil {
			t.Errorf("%+v rendered", c)
		}
	}
	b, err := HAProxyConfig{StatsBind: "127.0.0.1:8404", Frontends: []Frontend{
		{Name: "web", Bind: "127.0.0.1:8080", Servers: []string{"127.0.0.1:8090", "127.0.0.1:8091"}},
	}}.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"frontend web\n    bind 127.0.0.1:8080\n",
		"    server web1 127.0.0.1:8090 check\n    server web2 127.0.0.1:8091 check\n",
		"default-server inter 200ms fastinter 100ms downinter 200ms fall 2 rise 2\n",
		"    bind 127.0.0.1:8404\n",
	} {
		if !strings.Contains(string(b), line) {
			t.Errorf("the configuration lacks %q:\n%s", line, b)
		}
	}
}

func TestNewSessionKey(t *testing.T) {
	a, b := NewSessionKey(), NewSessionKey()
	if !strings.HasPrefix(a, "k1:") || len(a) != len("k1:")+44 || a == b {
		t.Errorf("keys %q, %q", a, b)
	}
}

func TestHTTPReady(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	probe := HTTPReady(srv.URL)
	if err := probe(t.Context()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a draining process (503): %v, want an error naming 503", err)
	}
	status = http.StatusOK
	if err := probe(t.Context()); err != nil {
		t.Errorf("a ready process: %v", err)
	}
}

func TestRedisPingWantsPONG(t *testing.T) {
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = bufio.NewReader(conn).ReadString('\n')
			_, _ = io.WriteString(conn, "-LOADING Redis is loading the dataset in memory\r\n")
			conn.Close()
		}
	}()
	err = RedisPing(t.Context(), l.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "LOADING") {
		t.Errorf("a Redis still loading: %v, want an error saying so", err)
	}
}
