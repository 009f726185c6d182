// Package omaclient is a thin Go client for the OMA protocol: the generated gRPC clients
// of the three services plus a watch that resumes across reconnects and an emit that
// retries under one idempotency key.
package omaclient

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"

	omav1 "oma.dev/clients/go/gen/oma/v1"
)

// Client holds one connection and a client per OMA service.
type Client struct {
	Sessions   omav1.SessionServiceClient
	Harness    omav1.HarnessServiceClient
	Sandboxes  omav1.SandboxServiceClient
	ServerInfo omav1.ServerInfoServiceClient
	// Tokens manages bearer tokens (admin tokens only).
	Tokens omav1.TokenServiceClient
	conn   *grpc.ClientConn
}

// Options configure Dial.
type Options struct {
	// Token, if set, is sent as "authorization: Bearer <token>" on every call.
	Token string
	// TLS, if set, secures the connection; otherwise it is plaintext HTTP/2.
	TLS credentials.TransportCredentials
	// DialOptions are passed to grpc.Dial after the ones above.
	DialOptions []grpc.DialOption
}

// Dial connects to an OMA server at target ("host:port"). The connection is lazy: an
// unreachable server shows up as UNAVAILABLE on the first call.
func Dial(target string, opts Options) (*Client, error) {
	// gRPC's own reconnect backoff grows to 120 s by default, so after a server restart a
	// connection could stay down for minutes while the server is back; 5 s at most here,
	// in line with the Watch and Emit backoff.
	dialOpts := []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
		MinConnectTimeout: 5 * time.Second,
	})}
	if opts.TLS != nil {
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(opts.TLS))
	} else {
		dialOpts = append(dialOpts, grpc.WithInsecure())
	}
	if opts.Token != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearerToken{token: opts.Token, requireTLS: opts.TLS != nil}))
	}
	conn, err := grpc.Dial(target, append(dialOpts, opts.DialOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("omaclient: dial %s: %w", target, err)
	}
	return &Client{
		Sessions:   omav1.NewSessionServiceClient(conn),
		Harness:    omav1.NewHarnessServiceClient(conn),
		Sandboxes:  omav1.NewSandboxServiceClient(conn),
		ServerInfo: omav1.NewServerInfoServiceClient(conn),
		Tokens:     omav1.NewTokenServiceClient(conn),
		conn:       conn,
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

type bearerToken struct {
	token      string
	requireTLS bool
}

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearerToken) RequireTransportSecurity() bool { return b.requireTLS }
