// run-session creates a session on an OMA server, sends a user message, wakes a brain and
// prints the session's events until it goes idle.
//
//	go run ./cmd/run-session -addr 127.0.0.1:7070 -model claude-sonnet-4-5 -message "hello"
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	omav1 "oma.dev/clients/go/gen/oma/v1"
	"oma.dev/clients/go/omaclient"
)

func main() {
	addr := flag.String("addr", envOr("OMA_ADDR", "127.0.0.1:7070"), "server host:port (env OMA_ADDR)")
	token := flag.String("token", os.Getenv("OMA_TOKEN"), "bearer token (env OMA_TOKEN)")
	model := flag.String("model", "claude-sonnet-4-5", "model of the agent")
	message := flag.String("message", "Say hello.", "the user message")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	if err := run(*addr, *token, *model, *message, *timeout); err != nil {
		info := omaclient.InfoOf(err)
		fmt.Fprintf(os.Stderr, "run-session: %v (code %s, reason %q)\n", err, info.Code, info.Reason)
		os.Exit(1)
	}
}

func run(addr, token, model, message string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	oma, err := omaclient.Dial(addr, omaclient.Options{Token: token})
	if err != nil {
		return err
	}
	defer oma.Close()

	created, err := oma.Sessions.CreateSession(ctx, &omav1.CreateSessionRequest{Agent: &omav1.AgentConfig{Model: model}})
	if err != nil {
		return err
	}
	sessionID := created.GetSession().GetSessionId()
	fmt.Printf("session %s\n", sessionID)
	sent, err := oma.Emit(ctx, sessionID, omaclient.UserText(message), omaclient.EmitOptions{})
	if err != nil {
		return err
	}
	if _, err := oma.Harness.Wake(ctx, &omav1.WakeRequest{SessionId: sessionID}); err != nil {
		return err
	}
	return oma.Watch(ctx, sessionID, omaclient.WatchOptions{}, func(ev *omav1.Event) error {
		fmt.Println(describe(ev))
		if st := ev.GetStatusChanged(); st != nil && st.GetStatus() == omav1.SessionStatus_SESSION_STATUS_IDLE && ev.GetSeq() > sent.GetEvent().GetSeq() {
			return omaclient.ErrStopWatch
		}
		return nil
	})
}

// describe prints an event as "seq kind {payload as JSON}".
func describe(ev *omav1.Event) string {
	payload := ev.ProtoReflect().WhichOneof(ev.ProtoReflect().Descriptor().Oneofs().ByName("payload"))
	if payload == nil {
		return fmt.Sprintf("%d (no payload)", ev.GetSeq())
	}
	body, _ := protojson.Marshal(ev.ProtoReflect().Get(payload).Message().Interface())
	return fmt.Sprintf("%d %s %s", ev.GetSeq(), payload.Name(), body)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
