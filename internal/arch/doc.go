// Package arch holds no code: its tests check the architecture's rules
// that the compiler does not, on the packages as `go list` sees them.
//
//   - The rooms: the shared kernel (the packages directly under internal/
//     but bff, e2e, tools and arch) imports neither side; the BFF side
//     (internal/bff/..., bff-web, bff-mobile, graph) never imports the
//     services' packages; the services (services/...) never import the BFF
//     side; no service imports another, and neither BFF the other. (Go's
//     internal rule already keeps everything outside services/ from
//     services/internal/...) Test-support packages (bfftest, servicetest,
//     browsertest, testutil, fakeclock) may cross, as the end-to-end tests
//     do.
//   - The binaries: no service links gqlgen, dataloader, gobreaker or the
//     BFF runtime; no BFF links SQLite, goose or a service.
//   - docs/ARCHITECTURE.md names only packages that exist, and every
//     package of the BFF runtime, the kernel and the service platform.
//   - No tracked file is larger than 1 MiB, but the playground's bundle.
package arch
