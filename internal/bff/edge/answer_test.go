package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/request"
)

// answer serves r with Answer(next) and returns the recorder.
func answer(t *testing.T, r *http.Request, next http.HandlerFunc) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	Answer(next).ServeHTTP(rec, r)
	return rec
}

func post(accept string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.Header.Set("Content-Type", "application/json")
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	return r
}

func TestAnswerGivesEachRequestAState(t *testing.T) {
	t.Parallel()
	var states []*request.State
	h := Answer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		states = append(states, request.StateFrom(r.Context()))
		w.WriteHeader(http.StatusOK)
	}))
	for range 2 {
		h.ServeHTTP(httptest.NewRecorder(), post(""))
	}
	if len(states) != 2 || states[0] == nil || states[1] == nil {
		t.Fatalf("states %v, want two", states)
	}
	if states[0] == states[1] {
		t.Error("two requests shared one State")
	}
}

// TestAnswerNegotiation checks the Accept header gqlgen is shown, the
// Content-Type written and the status of a document error (gqlgen's 422).
func TestAnswerNegotiation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept    string
		wantInner string
		wantCT    string
		want422   int
	}{
		{"", GraphQLResponseJSON, ctJSON, http.StatusBadRequest},
		{"application/json", JSON, ctJSON, http.StatusOK},
		{"*/*", JSON, ctJSON, http.StatusOK},
		{"application/graphql-response+json", GraphQLResponseJSON, ctGRJ, http.StatusBadRequest},
		{"application/graphql-response+json,application/json;q=0.9", GraphQLResponseJSON, ctGRJ, http.StatusBadRequest},
		{"application/json;q=0.5, application/graphql-response+json", GraphQLResponseJSON, ctGRJ, http.StatusBadRequest},
		{"text/html", GraphQLResponseJSON, ctJSON, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			t.Parallel()
			for _, status := range []int{http.StatusOK, http.StatusUnprocessableEntity, http.StatusBadRequest, http.StatusInternalServerError} {
				r := post(tt.accept)
				var inner string
				rec := answer(t, r, func(w http.ResponseWriter, r *http.Request) {
					inner = r.Header.Get("Accept")
					w.Header().Set("Content-Type", "application/json") // what gqlgen sets
					w.WriteHeader(status)
				})
				if inner != tt.wantInner {
					t.Errorf("next saw Accept %q, want %q", inner, tt.wantInner)
				}
				if got := r.Header.Get("Accept"); got != tt.accept {
					t.Errorf("the caller's request now has Accept %q, want %q", got, tt.accept)
				}
				if ct := rec.Header().Get("Content-Type"); ct != tt.wantCT {
					t.Errorf("status %d: Content-Type %q, want %q", status, ct, tt.wantCT)
				}
				want := status
				if status == http.StatusUnprocessableEntity {
					want = tt.want422
				}
				if rec.Code != want {
					t.Errorf("next wrote %d: status %d, want %d", status, rec.Code, want)
				}
			}
		})
	}
}

// TestAnswerUsesBeginsNegotiation checks that Answer follows the media
// type Begin negotiated, not an Accept header changed after it.
func TestAnswerUsesBeginsNegotiation(t *testing.T) {
	t.Parallel()
	var inner string
	h := Begin(time.Minute, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Accept", "application/json")
		Answer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner = r.Header.Get("Accept")
			w.WriteHeader(http.StatusUnprocessableEntity)
		})).ServeHTTP(w, r)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, post("application/graphql-response+json"))
	if inner != GraphQLResponseJSON || rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != ctGRJ {
		t.Errorf("inner Accept %q, status %d, Content-Type %q; want graphql-response+json, 400, %s",
			inner, rec.Code, rec.Header().Get("Content-Type"), ctGRJ)
	}
}

func TestAnswerMapsNotAcceptableToMethodNotAllowed(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/graphql?query=mutation{a}", nil)
	r.Header.Set("Accept", "application/graphql-response+json")
	rec := answer(t, r, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotAcceptable)
	})
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Errorf("status %d, Allow %q; want 405, POST", rec.Code, rec.Header().Get("Allow"))
	}
	if ct := rec.Header().Get("Content-Type"); ct != ctGRJ {
		t.Errorf("Content-Type %q, want %q", ct, ctGRJ)
	}
}

func TestAnswerThrottled(t *testing.T) {
	t.Parallel()
	refusal := ratelimit.Decision{Limit: 5, Remaining: 0, RetryAfter: 11500 * time.Millisecond, Reset: time.Minute}
	throttle := func(r *http.Request, d ratelimit.Decision) { request.StateFrom(r.Context()).Throttle(d) }
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		wantStatus  int
		wantHeaders map[string]string
	}{
		{
			name: "200 becomes 429",
			handler: func(w http.ResponseWriter, r *http.Request) {
				throttle(r, refusal)
				w.WriteHeader(http.StatusOK)
			},
			wantStatus: http.StatusTooManyRequests,
			wantHeaders: map[string]string{
				"Retry-After": "12", "RateLimit-Limit": "5", "RateLimit-Remaining": "0",
				"RateLimit-Reset": "60", "Content-Type": ctJSON,
			},
		},
		{
			name: "implicit 200 from Write becomes 429",
			handler: func(w http.ResponseWriter, r *http.Request) {
				throttle(r, refusal)
				_, _ = io.WriteString(w, `{}`)
			},
			wantStatus:  http.StatusTooManyRequests,
			wantHeaders: map[string]string{"Retry-After": "12", "Content-Type": ctJSON},
		},
		{
			name: "422 becomes 429 too",
			handler: func(w http.ResponseWriter, r *http.Request) {
				throttle(r, refusal)
				w.WriteHeader(http.StatusUnprocessableEntity)
			},
			wantStatus:  http.StatusTooManyRequests,
			wantHeaders: map[string]string{"Retry-After": "12"},
		},
		{
			name: "a flush with nothing written yet becomes 429",
			handler: func(w http.ResponseWriter, r *http.Request) {
				throttle(r, refusal)
				_ = http.NewResponseController(w).Flush()
			},
			wantStatus:  http.StatusTooManyRequests,
			wantHeaders: map[string]string{"Retry-After": "12"},
		},
		{
			name: "longest wait wins",
			handler: func(w http.ResponseWriter, r *http.Request) {
				throttle(r, ratelimit.Decision{Limit: 10, RetryAfter: 3 * time.Second})
				throttle(r, ratelimit.Decision{Limit: 5, RetryAfter: 30 * time.Second, Reset: 40 * time.Second})
				throttle(r, ratelimit.Decision{Limit: 20, RetryAfter: time.Second})
				w.WriteHeader(http.StatusOK)
			},
			wantStatus:  http.StatusTooManyRequests,
			wantHeaders: map[string]string{"Retry-After": "30", "RateLimit-Limit": "5", "RateLimit-Reset": "40"},
		},
		{
			name: "a wait under a second is one second",
			handler: func(w http.ResponseWriter, r *http.Request) {
				throttle(r, ratelimit.Decision{Limit: 1, RetryAfter: time.Millisecond, Reset: time.Millisecond})
				w.WriteHeader(http.StatusOK)
			},
			wantStatus:  http.StatusTooManyRequests,
			wantHeaders: map[string]string{"Retry-After": "1", "RateLimit-Reset": "1"},
		},
		{
			name: "a wait of exactly two seconds is two",
			handler: func(w http.ResponseWriter, r *http.Request) {
				throttle(r, ratelimit.Decision{Limit: 1, RetryAfter: 2 * time.Second})
				w.WriteHeader(http.StatusOK)
			},
			wantStatus:  http.StatusTooManyRequests,
			wantHeaders: map[string]string{"Retry-After": "2", "RateLimit-Reset": "0"},
		},
		{
			name: "not throttled: status untouched",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
			},
			wantStatus:  http.StatusOK,
			wantHeaders: map[string]string{"Retry-After": "", "RateLimit-Limit": ""},
		},
		{
			name: "throttled after the status was written: too late",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
				throttle(r, refusal)
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, "more")
			},
			wantStatus:  http.StatusOK,
			wantHeaders: map[string]string{"Retry-After": ""},
		},
		{
			name: "throttled after an implicit 200 and a flush: too late",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "{")
				_ = http.NewResponseController(w).Flush()
				throttle(r, refusal)
				_, _ = io.WriteString(w, "}")
			},
			wantStatus:  http.StatusOK,
			wantHeaders: map[string]string{"Retry-After": "", "Content-Type": ctJSON},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := answer(t, post(""), tt.handler)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			checkHeaders(t, rec, tt.wantHeaders)
		})
	}
}

// TestAnswerKeepsBody checks that the body passes byte for byte, however
// it is written, throttled or not.
func TestAnswerKeepsBody(t *testing.T) {
	t.Parallel()
	chunks := [][]byte{
		[]byte(`{"data":{"a":"\u00e9 `), {0xff, 0xfe}, []byte(` "}, "errors" : [ ] }`), {}, []byte("\n"),
	}
	want := bytes.Join(chunks, nil)
	for _, throttled := range []bool{false, true} {
		rec := answer(t, post("application/graphql-response+json"), func(w http.ResponseWriter, r *http.Request) {
			if throttled {
				request.StateFrom(r.Context()).Throttle(ratelimit.Decision{RetryAfter: time.Second})
			}
			for _, c := range chunks {
				n, err := w.Write(c)
				if n != len(c) || err != nil {
					t.Errorf("Write(%q) = %d, %v", c, n, err)
				}
			}
		})
		if !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("throttled %v: body %q, want %q", throttled, rec.Body.Bytes(), want)
		}
	}
}

func TestAnswerFlushes(t *testing.T) {
	t.Parallel()
	rec := answer(t, post("application/json"), func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the writer is not an http.Flusher")
		}
		_, _ = io.WriteString(w, "part")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
	})
	if !rec.Flushed || rec.Code != http.StatusOK || rec.Body.String() != "part" || rec.Header().Get("Content-Type") != ctJSON {
		t.Errorf("flushed %v, status %d, body %q, Content-Type %q; want flushed 200 %q %s",
			rec.Flushed, rec.Code, rec.Body, rec.Header().Get("Content-Type"), "part", ctJSON)
	}
}

// TestAnswerOverAServer checks the writer with net/http's own: the body,
// Flush and a ResponseController reaching the connection through Unwrap.
func TestAnswerOverAServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(Answer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("ResponseController cannot reach the underlying writer: %v", err)
		}
		request.StateFrom(r.Context()).Throttle(ratelimit.Decision{Limit: 3, RetryAfter: time.Second})
		_, _ = io.WriteString(w, "bo")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		_, _ = io.WriteString(w, "dy")
	})))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || string(body) != "body" ||
		resp.Header.Get("Retry-After") != "1" || resp.Header.Get("RateLimit-Limit") != "3" ||
		resp.Header.Get("Content-Type") != ctGRJ {
		t.Errorf("got %d %q Retry-After %q RateLimit-Limit %q Content-Type %q; want 429 \"body\" 1 3 %s",
			resp.StatusCode, body, resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit-Limit"),
			resp.Header.Get("Content-Type"), ctGRJ)
	}
}

func TestAnswerPassesOptionsThrough(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
	r.Header.Set("Accept", "application/graphql-response+json")
	rec := httptest.NewRecorder()
	var got http.ResponseWriter
	var state *request.State
	var accept string
	Answer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, state, accept = w, request.StateFrom(r.Context()), r.Header.Get("Accept")
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
	})).ServeHTTP(rec, r)
	if got != http.ResponseWriter(rec) {
		t.Errorf("next got %T, want the caller's writer", got)
	}
	if state != nil || accept != "application/graphql-response+json" {
		t.Errorf("next saw state %v and Accept %q, want none and the original", state, accept)
	}
	if rec.Code != http.StatusNoContent || rec.Header().Get("Content-Type") != "" {
		t.Errorf("status %d, Content-Type %q; want 204 and none", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestReportStaleData(t *testing.T) {
	t.Parallel()
	const reason = "the product service is unavailable; these products are recent copies"
	tests := []struct {
		name    string
		stale   []string
		noState bool
		ext     map[string]any
		want    map[string]any // nil: no extensions expected
	}{
		{name: "nothing stale", ext: nil, want: nil},
		{name: "nothing stale keeps extensions", ext: map[string]any{"cost": 3}, want: map[string]any{"cost": 3}},
		{name: "no state", noState: true, want: nil},
		{
			name: "stale products, sorted and deduplicated", stale: []string{"p9", "p1", "p5", "p1"},
			want: map[string]any{"staleData": map[string]any{"products": []string{"p1", "p5", "p9"}, "reason": reason}},
		},
		{
			name: "stale products keep other extensions", stale: []string{"p2"}, ext: map[string]any{"cost": 3},
			want: map[string]any{"cost": 3, "staleData": map[string]any{"products": []string{"p2"}, "reason": reason}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if !tt.noState {
				state := request.NewState()
				state.MarkStaleProducts(tt.stale...)
				ctx = request.NewContextWithState(ctx, state)
			}
			data := []byte(`{"product":{"id":"p1"}}`)
			resp := ReportStaleData(ctx, func(context.Context) *graphql.Response {
				return &graphql.Response{Data: data, Extensions: tt.ext}
			})
			if resp == nil || !bytes.Equal(resp.Data, data) {
				t.Fatalf("response %+v, want the next one's data", resp)
			}
			if !equalJSON(t, resp.Extensions, tt.want) {
				t.Errorf("extensions %v, want %v", resp.Extensions, tt.want)
			}
		})
	}
	t.Run("nil response", func(t *testing.T) {
		t.Parallel()
		state := request.NewState()
		state.MarkStaleProducts("p1")
		ctx := request.NewContextWithState(context.Background(), state)
		if resp := ReportStaleData(ctx, func(context.Context) *graphql.Response { return nil }); resp != nil {
			t.Errorf("response %+v, want nil", resp)
		}
	})
}

// equalJSON reports whether got and want encode to the same JSON.
func equalJSON(t *testing.T, got, want any) bool {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("encoding %v: %v", got, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("encoding %v: %v", want, err)
	}
	return bytes.Equal(g, w)
}
