// Package upstream holds the BFFs' typed clients of the user, order and
// product services, each service behind its own circuit breaker and retry
// budget.
//
// # The chain of a call
//
//	restclient → telemetry.Client → breaker → retries → base transport
//
// restclient builds the request (its body replayable through GetBody),
// bounds the whole call with the call timeout and reads the answer
// (bounded: upstream.max_answer_bytes). telemetry gives the call one span
// and one duration, retries included; the breaker sees the outcome of the
// call after its retries, so that a failure that a retry mended is no
// failure, and a call it refuses while open is never tried, let alone
// retried. Each retry is an event on the call's span.
//
// # What is retried
//
// A GET is retried when no answer came (connection refused, reset, or
// closed before the answer), when its answer broke off before its end
// (while a retry is still possible, the answer is read, up to the answer
// bound, before it is handed over), on 502, 503 and 504, and on a 429
// that has a Retry-After (seconds or an HTTP date) the deadline leaves
// time for; a 429 without one, or with one too long, is the answer
// (restclient makes it Unavailable). Nothing else is retried: not a 500,
// nor another 4xx, nor a timeout (the try used the call's time: the call
// timeout bounds the call with all its tries and waits), nor a cancelled
// call.
//
// A POST is retried only when its effect happens once however often it
// is sent: Orders.Place, whose Idempotency-Key makes the order service
// answer the order the first try placed (with Idempotent-Replayed), and
// which is also retried while the order service answers 409
// idempotency_in_progress (the first try still running); and
// Orders.Cancel (see there for a retried cancellation that finds the order
// already cancelled). The body sent again is the same bytes.
//
// There are at most RetrySettings.Attempts tries in all. Before retry n
// the call waits a random time below Backoff·2ⁿ⁻¹, at most MaxBackoff
// (full jitter, so that the callers of a service that failed together do
// not come back together), or the Retry-After of a 429 when longer. A
// wait that would end past the call's deadline is not started: the
// failure is returned at once.
//
// # The retry budget
//
// Retries multiply the load on a service that is already failing; a
// budget per service, in the manner of Finagle's RetryBudget and Envoy's
// retry budgets, keeps them a small share of its traffic. Every call
// deposits BudgetRatio (0.2) of a retry; every retry withdraws a whole
// one, from the deposits of the last 10 seconds (kept in one-second slots,
// so that old traffic does not pay for a storm now), or else from a
// reserve refilled at MinPerSecond (10) retries a second and holding one
// second's worth, so that a service with little traffic still gets its
// failures retried. When the budget is spent the failed try is the call's
// outcome. With a service failing every call, N calls over T seconds thus
// make at most N·(1+BudgetRatio) + MinPerSecond·T + max(MinPerSecond, 1)
// tries, however many tries each call is allowed. The budget's lock
// covers a few additions; the clock is read outside it.
//
// # What is counted
//
// RetrySettings' hooks feed the BFF's metrics (internal/bff/observe):
// bff_upstream_retries_total{service,reason}, with reason one of
// RetryReasons; and bff_upstream_calls_total{service,outcome}, what each
// call that reached the retry layer ended in, one of CallOutcomes (a call
// not retried for its service's spent budget is budget_exhausted). Calls an open breaker
// refused are http_client_breaker_refusals_total's.
package upstream
