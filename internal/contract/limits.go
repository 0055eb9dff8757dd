package contract

// The limits of the services' contract, one value each for the services
// that enforce them and the BFFs that must stay within them.
const (
	// MaxBatchIDs is the most ids one batch read (?ids=a,b,c) may ask for.
	MaxBatchIDs = 100
	// MaxPageSize is the largest limit of a listing.
	MaxPageSize = 100
	// MaxOrderLines is the most lines (distinct products) of one order.
	MaxOrderLines = 50
	// MaxLineQuantity is the largest quantity of one line of an order.
	MaxLineQuantity = 1000
	// MaxIdempotencyKeyLen is the longest idempotency key of an order
	// placement; see ValidIdempotencyKey.
	MaxIdempotencyKeyLen = 255
	// MaxBodyBytes is the largest request body a service accepts.
	MaxBodyBytes = 1 << 20
)

// IdempotencyKeyHeader carries the idempotency key of an order placement.
const IdempotencyKeyHeader = "Idempotency-Key"

// ValidIdempotencyKey reports whether key is 1 to MaxIdempotencyKeyLen
// visible ASCII characters (! to ~), the only idempotency keys the order
// service takes. Anything else could not even be sent as a header value.
func ValidIdempotencyKey(key string) bool {
	if len(key) == 0 || len(key) > MaxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < '!' || key[i] > '~' {
			return false
		}
	}
	return true
}
