package omaclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	omav1 "oma.dev/clients/go/gen/oma/v1"
)

// DefaultWatchIdleTimeout is three of the server's default 15 s heartbeat intervals (SESS-13).
const DefaultWatchIdleTimeout = 45 * time.Second

// ErrStopWatch, returned by a Watch callback, ends the watch without error.
var ErrStopWatch = errors.New("omaclient: stop watch")

// WatchOptions configure Watch.
type WatchOptions struct {
	// AfterSeq: deliver events with a greater seq (0: the whole log).
	AfterSeq int64
	// Backoff between reconnects.
	Backoff Backoff
	// MaxConsecutiveFailures: failed streams in a row after which Watch returns the last
	// error. 0 means unlimited: a watch outlives server restarts of any length.
	MaxConsecutiveFailures int
	// IdleTimeout: a stream that delivers nothing (no event, no heartbeat) for this long is
	// taken as a dead connection and reopened. 0 means DefaultWatchIdleTimeout; negative
	// turns the check off.
	IdleTimeout time.Duration
	// OnCaughtUp is called with the head seq each time a stream finishes its replay.
	OnCaughtUp func(headSeq int64)
	// OnReconnect is called before each reconnect with the failure count, the seq the next
	// stream resumes after, and what ended the previous stream (nil: it ended cleanly).
	OnReconnect func(attempt int, afterSeq int64, cause error)
}

// Watch calls fn with every event of the session after opts.AfterSeq, then live ones,
// each seq exactly once and in order across reconnects (SESS-12). A broken stream — server
// restart, network fault, or RESOURCE_EXHAUSTED / WATCHER_TOO_SLOW (SESS-13) — is
// reopened with backoff after the last seq delivered. It returns nil when fn returns
// ErrStopWatch, ctx's error when ctx ends, fn's other errors as they are, and any RPC
// error that is an answer rather than a fault (NOT_FOUND, INVALID_ARGUMENT, OUT_OF_RANGE,
// UNAUTHENTICATED, ...).
func (c *Client) Watch(ctx context.Context, sessionID string, opts WatchOptions, fn func(*omav1.Event) error) error {
	last := opts.AfterSeq
	failures := 0
	for {
		streamErr, fnErr := c.watchOnce(ctx, sessionID, &last, &failures, opts, fn)
		if errors.Is(fnErr, ErrStopWatch) {
			return nil
		}
		if fnErr != nil {
			return fnErr
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if streamErr != nil && !shouldReconnect(streamErr) {
			return streamErr
		}
		failures++
		if opts.MaxConsecutiveFailures > 0 && failures > opts.MaxConsecutiveFailures {
			if streamErr == nil {
				streamErr = status.Error(codes.Unavailable, "watch stream kept ending")
			}
			return streamErr
		}
		if opts.OnReconnect != nil {
			opts.OnReconnect(failures, last, streamErr)
		}
		if !sleep(ctx, opts.Backoff.delay(failures-1)) {
			return ctx.Err()
		}
	}
}

// watchOnce runs one stream; it returns what ended it and any error of fn.
func (c *Client) watchOnce(ctx context.Context, sessionID string, last *int64, failures *int, opts WatchOptions, fn func(*omav1.Event) error) (error, error) {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	idleTimeout := opts.IdleTimeout
	if idleTimeout == 0 {
		idleTimeout = DefaultWatchIdleTimeout
	}
	var idle atomic.Bool
	resetIdle, pauseIdle := func() {}, func() {}
	if idleTimeout > 0 {
		timer := time.AfterFunc(idleTimeout, func() {
			idle.Store(true)
			cancel()
		})
		defer timer.Stop()
		resetIdle = func() { timer.Reset(idleTimeout) }
		pauseIdle = func() { timer.Stop() }
	}
	stream, err := c.Sessions.WatchEvents(streamCtx, &omav1.WatchEventsRequest{SessionId: sessionID, AfterSeq: *last})
	if err != nil {
		return err, nil
	}
	for {
		res, err := stream.Recv()
		if err != nil && idle.Load() && ctx.Err() == nil {
			return status.Error(codes.DeadlineExceeded, fmt.Sprintf("watch stream silent for %s; reopening", idleTimeout)), nil
		}
		resetIdle()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return err, nil
		}
		*failures = 0
		if cu := res.GetCaughtUp(); cu != nil && opts.OnCaughtUp != nil {
			opts.OnCaughtUp(cu.GetHeadSeq())
		}
		ev := res.GetEvent()
		if ev == nil || ev.GetSeq() <= *last {
			continue
		}
		if ev.GetSeq() != *last+1 {
			return status.Error(codes.DataLoss, fmt.Sprintf("watch skipped from seq %d to %d; resuming", *last, ev.GetSeq())), nil
		}
		*last = ev.GetSeq()
		// The callback's time with the event does not count as silence of the stream.
		pauseIdle()
		if err := fn(ev); err != nil {
			return nil, err
		}
		resetIdle()
	}
}

func shouldReconnect(err error) bool {
	if IsTransient(err) {
		return true
	}
	info := InfoOf(err)
	switch info.Code {
	case codes.ResourceExhausted:
		return info.Reason == "WATCHER_TOO_SLOW"
	case codes.Canceled, codes.DataLoss:
		return true
	}
	return false
}
