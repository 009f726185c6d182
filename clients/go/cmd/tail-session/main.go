// tail-session prints a session's events as "seq kind" lines, resuming by itself across
// server restarts.
//
//	go run ./cmd/tail-session -addr 127.0.0.1:7070 -after 0 -until 10 SESSION_ID
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	omav1 "oma.dev/clients/go/gen/oma/v1"
	"oma.dev/clients/go/omaclient"
)

func main() {
	addr := flag.String("addr", envOr("OMA_ADDR", "127.0.0.1:7070"), "server host:port (env OMA_ADDR)")
	token := flag.String("token", os.Getenv("OMA_TOKEN"), "bearer token (env OMA_TOKEN)")
	after := flag.Int64("after", 0, "start after this seq")
	until := flag.Int64("until", 0, "exit after printing this seq (0: never)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tail-session [flags] SESSION_ID")
		os.Exit(2)
	}
	oma, err := omaclient.Dial(*addr, omaclient.Options{Token: *token})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer oma.Close()
	opts := omaclient.WatchOptions{
		AfterSeq: *after,
		Backoff:  omaclient.Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond},
		OnReconnect: func(attempt int, afterSeq int64, _ error) {
			fmt.Fprintf(os.Stderr, "# reconnect %d after %d\n", attempt, afterSeq)
		},
	}
	err = oma.Watch(context.Background(), flag.Arg(0), opts, func(ev *omav1.Event) error {
		kind := ev.ProtoReflect().WhichOneof(ev.ProtoReflect().Descriptor().Oneofs().ByName("payload"))
		name := "none"
		if kind != nil {
			name = string(kind.Name())
		}
		fmt.Printf("%d %s\n", ev.GetSeq(), name)
		if *until > 0 && ev.GetSeq() >= *until {
			return omaclient.ErrStopWatch
		}
		return nil
	})
	if err != nil {
		info := omaclient.InfoOf(err)
		fmt.Fprintf(os.Stderr, "tail-session: %v (reason %q)\n", err, info.Reason)
		os.Exit(1)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
