// Package addrs is where each process of the stack listens by default, and
// so where the others find it: the one place the default ports are
// written, for the services' flags, the BFFs' configuration and `make run`.
package addrs

// The default listen addresses, on loopback.
const (
	User      = "127.0.0.1:9001"
	Order     = "127.0.0.1:9002"
	Product   = "127.0.0.1:9003"
	BFFWeb    = "127.0.0.1:8080"
	BFFMobile = "127.0.0.1:8081"
)

// The default addresses of the admin listeners (GET /metrics; pprof in
// development), apart from the public ports.
const (
	UserAdmin      = "127.0.0.1:9101"
	OrderAdmin     = "127.0.0.1:9102"
	ProductAdmin   = "127.0.0.1:9103"
	BFFWebAdmin    = "127.0.0.1:9180"
	BFFMobileAdmin = "127.0.0.1:9181"
)

// The default base URLs of the services.
const (
	UserURL    = "http://" + User
	OrderURL   = "http://" + Order
	ProductURL = "http://" + Product
)
