package upstream

import (
	"net/http"

	"github.com/acme/bff-gateway/internal/bff/request"
)

// countedTransport tells the operation a call serves (its request.State)
// of each call that goes out and of its answer, for the operation's
// upstream calls and waves (observe records them). It sits under the
// breaker, so that a call refused while the breaker is open is not
// counted, and above the retries: a call and its retries are one call.
type countedTransport struct{ next http.RoundTripper }

func (c countedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ended := request.StateFrom(req.Context()).UpstreamCall()
	defer ended()
	return c.next.RoundTrip(req)
}
