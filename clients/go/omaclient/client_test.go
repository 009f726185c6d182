package omaclient

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	omav1 "oma.dev/clients/go/gen/oma/v1"
)

// fakeSessions is a SessionService whose watch streams and emits follow a script, so the
// client's reconnect and retry logic can be driven through the failures it handles.
type fakeSessions struct {
	omav1.UnimplementedSessionServiceServer
	mu          sync.Mutex
	streams     []scripted
	watchAfter  []int64
	emitKeys    []string
	emitFail    func(attempt int) error
	appended    map[string]*omav1.Event
	authHeaders []string
}

type scripted struct {
	send []int64
	err  error
	hang bool
}

func omaErr(code codes.Code, reason string) error {
	st, _ := status.New(code, reason+" (fake)").WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "oma.dev", Metadata: map[string]string{"k": "v"}})
	return st.Err()
}

func (f *fakeSessions) WatchEvents(req *omav1.WatchEventsRequest, stream omav1.SessionService_WatchEventsServer) error {
	f.mu.Lock()
	f.watchAfter = append(f.watchAfter, req.GetAfterSeq())
	n := len(f.watchAfter)
	f.mu.Unlock()
	if n > len(f.streams) {
		return status.Error(codes.FailedPrecondition, "no more scripted streams")
	}
	step := f.streams[n-1]
	for _, seq := range step.send {
		if err := stream.Send(&omav1.WatchEventsResponse{Message: &omav1.WatchEventsResponse_Event{Event: &omav1.Event{Seq: seq}}}); err != nil {
			return err
		}
	}
	if step.hang {
		<-stream.Context().Done()
		return nil
	}
	return step.err
}

func (f *fakeSessions) EmitEvent(ctx context.Context, req *omav1.EmitEventRequest) (*omav1.EmitEventResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		f.authHeaders = append(f.authHeaders, md.Get("authorization")...)
	}
	f.emitKeys = append(f.emitKeys, req.GetIdempotencyKey())
	ev, dup := f.appended[req.GetIdempotencyKey()]
	if !dup {
		ev = &omav1.Event{Seq: int64(len(f.appended) + 1)}
		f.appended[req.GetIdempotencyKey()] = ev
	}
	// The failure comes after the append: the acknowledgement is what gets lost.
	if err := f.emitFail(len(f.emitKeys)); err != nil {
		return nil, err
	}
	return &omav1.EmitEventResponse{Event: ev, Duplicate: dup}, nil
}

func startFake(t *testing.T, f omav1.SessionServiceServer, opts Options) *Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	omav1.RegisterSessionServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	c, err := Dial(lis.Addr().String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var fast = Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}

func TestWatchResumesAfterUnavailableAndWatcherTooSlow(t *testing.T) {
	f := &fakeSessions{streams: []scripted{
		{send: []int64{1, 2, 3}, err: status.Error(codes.Unavailable, "server went away")},
		{send: []int64{4, 5, 5, 4}, err: omaErr(codes.ResourceExhausted, "WATCHER_TOO_SLOW")},
		{send: []int64{6, 8}, hang: true},
		{send: []int64{7, 8}, hang: true},
	}}
	c := startFake(t, f, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var seqs []int64
	err := c.Watch(ctx, "ses_g", WatchOptions{Backoff: fast}, func(ev *omav1.Event) error {
		seqs = append(seqs, ev.GetSeq())
		if ev.GetSeq() == 8 {
			return ErrStopWatch
		}
		return nil
	})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8}; !equal(seqs, want) {
		t.Fatalf("seqs %v, want %v", seqs, want)
	}
	if want := []int64{0, 3, 5, 6}; !equal(f.watchAfter, want) {
		t.Fatalf("after_seq of each stream %v, want %v", f.watchAfter, want)
	}
}

func TestWatchReopensASilentStream(t *testing.T) {
	f := &fakeSessions{streams: []scripted{{send: []int64{1}, hang: true}, {send: []int64{2}, hang: true}}}
	c := startFake(t, f, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var causes []error
	var seqs []int64
	err := c.Watch(ctx, "ses_g", WatchOptions{Backoff: fast, IdleTimeout: 50 * time.Millisecond, OnReconnect: func(_ int, _ int64, cause error) { causes = append(causes, cause) }}, func(ev *omav1.Event) error {
		seqs = append(seqs, ev.GetSeq())
		if ev.GetSeq() == 2 {
			return ErrStopWatch
		}
		return nil
	})
	if err != nil || !equal(seqs, []int64{1, 2}) || !equal(f.watchAfter, []int64{0, 1}) {
		t.Fatalf("err %v, seqs %v, after_seq %v", err, seqs, f.watchAfter)
	}
	if len(causes) != 1 || InfoOf(causes[0]).Code != codes.DeadlineExceeded {
		t.Fatalf("reconnect causes %v: want one DEADLINE_EXCEEDED", causes)
	}
}

func TestWatchDoesNotCountTheCallbacksTimeAsSilence(t *testing.T) {
	f := &fakeSessions{streams: []scripted{{send: []int64{1, 2}, hang: true}}}
	c := startFake(t, f, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Watch(ctx, "ses_g", WatchOptions{Backoff: fast, IdleTimeout: 20 * time.Millisecond}, func(ev *omav1.Event) error {
		time.Sleep(80 * time.Millisecond)
		if ev.GetSeq() == 2 {
			return ErrStopWatch
		}
		return nil
	})
	if err != nil || len(f.watchAfter) != 1 {
		t.Fatalf("err %v after %d streams: want one stream", err, len(f.watchAfter))
	}
}

func TestWatchGivesUpOnNotFound(t *testing.T) {
	f := &fakeSessions{streams: []scripted{{send: []int64{1}, err: omaErr(codes.NotFound, "SESSION_NOT_FOUND")}, {hang: true}}}
	c := startFake(t, f, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Watch(ctx, "ses_g", WatchOptions{Backoff: fast}, func(*omav1.Event) error { return nil })
	if info := InfoOf(err); info.Code != codes.NotFound || info.Reason != "SESSION_NOT_FOUND" || info.Metadata["k"] != "v" {
		t.Fatalf("got %v (%+v), want NOT_FOUND / SESSION_NOT_FOUND", err, info)
	}
	if len(f.watchAfter) != 1 {
		t.Fatalf("%d streams opened, want 1", len(f.watchAfter))
	}
}

func TestEmitRetriesUnderOneKeyAndSendsToken(t *testing.T) {
	f := &fakeSessions{appended: map[string]*omav1.Event{}, emitFail: func(n int) error {
		if n <= 2 {
			return status.Error(codes.Unavailable, "connection reset")
		}
		return nil
	}}
	c := startFake(t, f, Options{Token: "tok-go"})
	res, err := c.Emit(context.Background(), "ses_g", UserText("hi"), EmitOptions{Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.emitKeys) != 3 || f.emitKeys[0] == "" || f.emitKeys[0] != f.emitKeys[1] || f.emitKeys[1] != f.emitKeys[2] {
		t.Fatalf("keys %v: want three equal non-empty keys", f.emitKeys)
	}
	if len(f.appended) != 1 || !res.GetDuplicate() || res.GetEvent().GetSeq() != 1 {
		t.Fatalf("appended %d, response %v: want one event returned as a duplicate", len(f.appended), res)
	}
	if f.authHeaders[0] != "Bearer tok-go" {
		t.Fatalf("authorization %q", f.authHeaders[0])
	}
	if _, err := c.Emit(context.Background(), "ses_g", UserText("hi"), EmitOptions{}); err != nil || len(f.appended) != 2 {
		t.Fatalf("a second logical call must get its own key (err %v, appended %d)", err, len(f.appended))
	}
}

func TestEmitDoesNotRetryAnAnswer(t *testing.T) {
	f := &fakeSessions{appended: map[string]*omav1.Event{}, emitFail: func(int) error { return omaErr(codes.FailedPrecondition, "HEAD_SEQ_MISMATCH") }}
	c := startFake(t, f, Options{})
	_, err := c.Emit(context.Background(), "ses_g", UserText("hi"), EmitOptions{Backoff: fast})
	if ReasonOf(err) != "HEAD_SEQ_MISMATCH" || len(f.emitKeys) != 1 {
		t.Fatalf("err %v after %d attempts: want HEAD_SEQ_MISMATCH after 1", err, len(f.emitKeys))
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
