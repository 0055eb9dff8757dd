package guard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/acme/bff-gateway/internal/bff/edge"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// serveBatch answers a JSON array body: refused as a whole when batching is
// off or the batch is empty or too large; otherwise each operation is
// checked and run on its own, in order (see BatchingConfig).
func (g *guard) serveBatch(w http.ResponseWriter, r *http.Request, next http.Handler, body []byte) {
	if !g.cfg.Batching.Enabled {
		g.write(w, r, refuse(http.StatusBadRequest, CodeBatchingDisabled, "batched requests are not accepted: send one operation per request", nil))
		return
	}
	elems, rf := decodeBatch(body)
	if rf != nil {
		g.write(w, r, rf)
		return
	}
	if n, limit := len(elems), g.cfg.Batching.MaxOperations; n == 0 || n > limit {
		g.write(w, r, refuse(http.StatusBadRequest, CodeBatchTooLarge,
			fmt.Sprintf("a batch must hold from 1 to %d operations", limit),
			map[string]any{"limit": limit, "operations": n}))
		return
	}
	requestID := requestctx.RequestIDFromContext(r.Context())
	var out bytes.Buffer
	out.WriteByte('[')
	for i, elem := range elems {
		if i > 0 {
			out.WriteByte(',')
		}
		r2, rf := g.prepareObject(r, elem)
		if rf != nil {
			g.refused(rf.Code)
			out.Write(rf.Body(requestID))
			continue
		}
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, r2)
		copyHeaders(w.Header(), rec.header)
		if b := bytes.TrimSpace(rec.body.Bytes()); len(b) > 0 && json.Valid(b) {
			out.Write(b)
		} else {
			out.Write(refuse(http.StatusInternalServerError, edge.CodeInternal,
				"the operation did not answer with JSON", map[string]any{"status": rec.status}).Body(requestID))
		}
	}
	out.WriteByte(']')
	h := w.Header()
	h.Set("Content-Type", edge.MediaOf(r).ContentType())
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// copyHeaders copies an operation's response headers to the batch's:
// cookies are added, other headers replaced; the body's own headers are the
// batch's.
func copyHeaders(dst, src http.Header) {
	for k, vs := range src {
		switch k {
		case "Content-Type", "Content-Length":
		case "Set-Cookie":
			for _, v := range vs {
				dst.Add(k, v)
			}
		default:
			dst[k] = append([]string(nil), vs...)
		}
	}
}

// recorder holds one batched operation's response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(b)
}
