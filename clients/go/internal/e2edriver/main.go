// e2edriver is driven by clients/ts/src/testing/language-driver-tests.ts against a real server:
//
//  1. it emits one event through a connection that loses the first acknowledgement (the
//     server has stored the event; the client sees UNAVAILABLE) and prints
//     "emitted SEQ DUPLICATE ATTEMPTS";
//  2. it watches the session from seq 0 and prints "event SEQ" per event until -until,
//     while the test kills and restarts the server ("# reconnect" lines go to stderr).
//
// With -lossy-struct N it emits N custom events whose data is an 8-key Struct, each
// through a connection that loses the first acknowledgement, and prints "emitted SEQ
// DUPLICATE ATTEMPTS" for each and then "encodings K": how many distinct encodings 20
// marshals of one such event gave (Go orders map entries anew on every marshal, so the
// retry carries other bytes than the stored first attempt).
//
// With -appends N, -append-refused or -append-across-break it only appends over an
// Appender (see appends.go).
//
// With -emit-only TYPE it only emits one custom event (the test starts it while the
// server is down) and prints "emitted SEQ". With -watch-slow it only watches, and after
// the first event stops reading until a line arrives on stdin, so the server finds it too
// slow.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	omav1 "oma.dev/clients/go/gen/oma/v1"
	"oma.dev/clients/go/omaclient"
)

func main() {
	addr := flag.String("addr", "", "server host:port")
	session := flag.String("session", "", "session id")
	until := flag.Int64("until", 0, "exit after this seq")
	emitOnly := flag.String("emit-only", "", "only emit one custom event of this type")
	watchSlow := flag.Bool("watch-slow", false, "only watch, pausing after the first event until stdin has a line")
	lossyStruct := flag.Int("lossy-struct", 0, "only emit this many Struct-carrying events, each losing its first acknowledgement")
	appends := flag.Int("appends", 0, "only make this many appends at once over one Appender")
	appendRefused := flag.Bool("append-refused", false, "only make appends over one Appender, one of them at a stale expected head")
	appendAcrossBreak := flag.Bool("append-across-break", false, "only append over one Appender until its stream breaks, and 20 more")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fast := fastBackoff

	if *appends > 0 || *appendRefused || *appendAcrossBreak {
		oma, err := omaclient.Dial(*addr, omaclient.Options{Token: os.Getenv("OMA_TOKEN")})
		must(err)
		defer oma.Close()
		switch {
		case *appends > 0:
			appendsInParallel(ctx, oma, *session, *appends)
		case *appendRefused:
			appendsWithARefusal(ctx, oma, *session)
		default:
			appendsAcrossABreak(ctx, oma, *session)
		}
		return
	}

	if *watchSlow {
		oma, err := omaclient.Dial(*addr, omaclient.Options{Token: os.Getenv("OMA_TOKEN")})
		must(err)
		opts := omaclient.WatchOptions{Backoff: fast, OnReconnect: func(attempt int, after int64, cause error) {
			fmt.Fprintf(os.Stderr, "# reconnect %d after %d %s\n", attempt, after, omaclient.ReasonOf(cause))
		}}
		stdin := bufio.NewReader(os.Stdin)
		must(oma.Watch(ctx, *session, opts, func(ev *omav1.Event) error {
			fmt.Printf("event %d\n", ev.GetSeq())
			if ev.GetSeq() == 1 {
				if _, err := stdin.ReadString('\n'); err != nil {
					return err
				}
			}
			if ev.GetSeq() >= *until {
				return omaclient.ErrStopWatch
			}
			return nil
		}))
		return
	}

	if *emitOnly != "" {
		oma, err := omaclient.Dial(*addr, omaclient.Options{Token: os.Getenv("OMA_TOKEN")})
		must(err)
		fmt.Println("emitting")
		res, err := oma.Emit(ctx, *session, &omav1.Event{Payload: &omav1.Event_Custom{Custom: &omav1.CustomEvent{Type: *emitOnly}}}, omaclient.EmitOptions{Backoff: fast, MaxAttempts: 1000})
		must(err)
		fmt.Printf("emitted %d\n", res.GetEvent().GetSeq())
		return
	}

	emitCalls := 0
	loseFirstAck := func(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if strings.HasSuffix(method, "/EmitEvent") {
			emitCalls++
			if emitCalls == 1 && err == nil {
				return status.Error(codes.Unavailable, "acknowledgement lost on the way back")
			}
		}
		return err
	}
	lossy, err := omaclient.Dial(*addr, omaclient.Options{Token: os.Getenv("OMA_TOKEN"), DialOptions: []grpc.DialOption{grpc.WithUnaryInterceptor(loseFirstAck)}})
	must(err)

	if *lossyStruct > 0 {
		event := structEvent()
		for i := 0; i < *lossyStruct; i++ {
			emitCalls = 0
			res, err := lossy.Emit(ctx, *session, event, omaclient.EmitOptions{Backoff: fast})
			must(err)
			fmt.Printf("emitted %d %t %d\n", res.GetEvent().GetSeq(), res.GetDuplicate(), emitCalls)
		}
		encodings := map[string]bool{}
		for i := 0; i < 20; i++ {
			b, err := proto.Marshal(event)
			must(err)
			encodings[string(b)] = true
		}
		fmt.Printf("encodings %d\n", len(encodings))
		return
	}
	res, err := lossy.Emit(ctx, *session, &omav1.Event{Payload: &omav1.Event_Custom{Custom: &omav1.CustomEvent{Type: "driver-emit"}}}, omaclient.EmitOptions{Backoff: fast})
	must(err)
	fmt.Printf("emitted %d %t %d\n", res.GetEvent().GetSeq(), res.GetDuplicate(), emitCalls)
	lossy.Close()

	oma, err := omaclient.Dial(*addr, omaclient.Options{Token: os.Getenv("OMA_TOKEN")})
	must(err)
	defer oma.Close()
	opts := omaclient.WatchOptions{Backoff: fast, OnReconnect: func(attempt int, after int64, cause error) {
		fmt.Fprintf(os.Stderr, "# reconnect %d after %d %s\n", attempt, after, omaclient.ReasonOf(cause))
	}}
	must(oma.Watch(ctx, *session, opts, func(ev *omav1.Event) error {
		fmt.Printf("event %d\n", ev.GetSeq())
		if ev.GetSeq() >= *until {
			return omaclient.ErrStopWatch
		}
		return nil
	}))
}

var fastBackoff = omaclient.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}

// structEvent is a custom event whose data has 8 keys.
func structEvent() *omav1.Event {
	data := map[string]interface{}{}
	for _, k := range []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"} {
		data[k] = k + "-value"
	}
	s, err := structpb.NewStruct(data)
	must(err)
	return &omav1.Event{Payload: &omav1.Event_Custom{Custom: &omav1.CustomEvent{Type: "driver-struct", Data: s}}}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2edriver:", err)
		os.Exit(1)
	}
}
