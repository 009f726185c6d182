module oma.dev/clients/go

go 1.19

// Versions are those of Debian bookworm's Go packages, which the offline build
// (./offline-go) uses. With a module proxy, `go mod tidy` completes this file and go.sum.
require (
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
