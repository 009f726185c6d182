package omaclient

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	omav1 "oma.dev/clients/go/gen/oma/v1"
)

// fakeLog is a SessionService whose AppendEvents stream applies each request and then,
// at the request numbered breakAt, breaks without acknowledging it (a lost
// acknowledgement); EmitEvents applies with the same idempotency keys.
type fakeLog struct {
	omav1.UnimplementedSessionServiceServer
	mu      sync.Mutex
	log     []string                  // custom types in seq order
	byKey   map[string][]*omav1.Event // what each key wrote
	streams int
	emits   int
	breakAt int
}

func (f *fakeLog) apply(key string, events []*omav1.Event) ([]*omav1.Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if stored, ok := f.byKey[key]; ok {
		return stored, true
	}
	var stored []*omav1.Event
	for _, ev := range events {
		f.log = append(f.log, ev.GetCustom().GetType())
		stored = append(stored, &omav1.Event{Seq: int64(len(f.log)), Payload: ev.GetPayload()})
	}
	f.byKey[key] = stored
	return stored, false
}

func (f *fakeLog) AppendEvents(stream omav1.SessionService_AppendEventsServer) error {
	f.mu.Lock()
	f.streams++
	f.mu.Unlock()
	for n := 1; ; n++ {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if req.ExpectedHeadSeq != nil {
			return omaErr(codes.FailedPrecondition, "HEAD_SEQ_MISMATCH")
		}
		events, dup := f.apply(req.GetIdempotencyKey(), req.GetEvents())
		f.mu.Lock()
		lose := n == f.breakAt
		f.mu.Unlock()
		if lose {
			return status.Error(codes.Unavailable, "connection reset")
		}
		if err := stream.Send(&omav1.AppendEventsResponse{Events: events, Duplicate: dup}); err != nil {
			return err
		}
	}
}

func (f *fakeLog) EmitEvents(_ context.Context, req *omav1.EmitEventsRequest) (*omav1.EmitEventsResponse, error) {
	f.mu.Lock()
	f.emits++
	f.mu.Unlock()
	events, dup := f.apply(req.GetIdempotencyKey(), req.GetEvents())
	return &omav1.EmitEventsResponse{Events: events, Duplicate: dup}, nil
}

func custom(kind string) *omav1.Event {
	return &omav1.Event{Payload: &omav1.Event_Custom{Custom: &omav1.CustomEvent{Type: kind}}}
}

// appendAll makes one Append per kind, all at once, closes the Appender, and returns the
// acknowledgements in the order of kinds; it fails the test on any error, or on an ack that
// is not of its own append.
func appendAll(t *testing.T, a *Appender, sessionID string, kinds []string) []*omav1.AppendEventsResponse {
	t.Helper()
	var wg sync.WaitGroup
	acks := make([]*omav1.AppendEventsResponse, len(kinds))
	errs := make([]error, len(kinds))
	for i, kind := range kinds {
		wg.Add(1)
		go func(i int, kind string) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ack, err := a.Append(ctx, sessionID, []*omav1.Event{custom(kind)}, AppendOptions{})
			if err == nil && ack.GetEvents()[0].GetCustom().GetType() != kind {
				err = fmt.Errorf("append %s acknowledged with %v", kind, ack.GetEvents())
			}
			acks[i], errs[i] = ack, err
		}(i, kind)
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	return acks
}

func kinds(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func TestAppenderResendsWhatABrokenStreamLeftUnansweredOnce(t *testing.T) {
	f := &fakeLog{byKey: map[string][]*omav1.Event{}, breakAt: 10}
	c := startFake(t, f, Options{})
	var resent []int
	a := c.OpenAppender(AppenderOptions{Backoff: fast, OnResend: func(n int, _ error) { resent = append(resent, n) }})
	const n = 50
	appendAll(t, a, "ses_g", kinds("e", n))
	seen := map[string]bool{}
	for _, kind := range f.log {
		if seen[kind] {
			t.Fatalf("%s written twice: %v", kind, f.log)
		}
		seen[kind] = true
	}
	if len(f.log) != n || len(resent) == 0 || f.emits == 0 {
		t.Fatalf("log %d events, resends %v, %d EmitEvents: want %d events, at least one resend", len(f.log), resent, f.emits, n)
	}
}

func TestAppenderReturnsARefusalAndKeepsTheRest(t *testing.T) {
	f := &fakeLog{byKey: map[string][]*omav1.Event{}}
	c := startFake(t, f, Options{})
	a := c.OpenAppender(AppenderOptions{Backoff: fast})
	defer a.Close()
	if _, err := a.Append(context.Background(), "ses_g", []*omav1.Event{custom("first")}, AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	head := int64(0)
	_, err := a.Append(context.Background(), "ses_g", []*omav1.Event{custom("stale")}, AppendOptions{ExpectedHeadSeq: &head})
	if ReasonOf(err) != "HEAD_SEQ_MISMATCH" {
		t.Fatalf("got %v, want HEAD_SEQ_MISMATCH", err)
	}
	if _, err := a.Append(context.Background(), "ses_g", []*omav1.Event{custom("after")}, AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.log) != "[first after]" || f.streams != 2 {
		t.Fatalf("log %v over %d streams: want [first after] over 2", f.log, f.streams)
	}
	a.Close()
	if _, err := a.Append(context.Background(), "ses_g", []*omav1.Event{custom("late")}, AppendOptions{}); err != ErrAppenderClosed {
		t.Fatalf("append after Close: %v", err)
	}
}

// quietLog takes appends on its stream (durable) and never answers them: a connection
// that died without a word.
type quietLog struct {
	*fakeLog
	cancelled chan struct{}
}

func (q *quietLog) AppendEvents(stream omav1.SessionService_AppendEventsServer) error {
	q.mu.Lock()
	q.streams++
	q.mu.Unlock()
	go func() {
		<-stream.Context().Done()
		close(q.cancelled)
	}()
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		q.apply(req.GetIdempotencyKey(), req.GetEvents())
	}
}

func TestAppenderCancelsAStreamThatStaysQuietPastTheAttemptTimeout(t *testing.T) {
	q := &quietLog{fakeLog: &fakeLog{byKey: map[string][]*omav1.Event{}}, cancelled: make(chan struct{})}
	c := startFake(t, q, Options{})
	a := c.OpenAppender(AppenderOptions{Backoff: fast, AttemptTimeout: 200 * time.Millisecond})
	started := time.Now()
	acks := appendAll(t, a, "ses_q", kinds("q", 3))
	select {
	case <-q.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the quiet stream was never cancelled")
	}
	if waited := time.Since(started); waited < 200*time.Millisecond {
		t.Fatalf("answered after %v, before the attempt timeout", waited)
	}
	if len(q.log) != 3 || q.streams != 1 || q.emits != 3 {
		t.Fatalf("log %v over %d streams and %d EmitEvents: want 3 events written once, 1 stream, 3 resends", q.log, q.streams, q.emits)
	}
	for _, ack := range acks {
		if s := ack.GetEvents()[0].GetSeq(); s < 1 || s > 3 {
			t.Fatalf("an ack with seq %d: want seqs 1..3", s)
		}
	}
}
