package omaclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	omav1 "oma.dev/clients/go/gen/oma/v1"
)

// EmitOptions configure Emit.
type EmitOptions struct {
	// IdempotencyKey makes retries safe (SESS-3). Empty: a new random key for this call,
	// reused by each of its retries.
	IdempotencyKey string
	// ExpectedHeadSeq, if set, appends only at this head (SESS-2).
	ExpectedHeadSeq *int64
	// LeaseEpoch, if set, appends only under this lease (SESS-10).
	LeaseEpoch *int64
	// MaxAttempts in all, first call included. 0 means 5.
	MaxAttempts int
	// AttemptTimeout bounds each attempt; a hung one becomes DEADLINE_EXCEEDED and is
	// retried. 0 means DefaultEmitAttemptTimeout.
	AttemptTimeout time.Duration
	// Backoff between attempts.
	Backoff Backoff
}

// DefaultEmitAttemptTimeout bounds one Emit attempt.
const DefaultEmitAttemptTimeout = 30 * time.Second

// NewIdempotencyKey returns a random key: two logical calls never share one.
func NewIdempotencyKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "k-" + hex.EncodeToString(b)
}

// Emit appends one event, retrying transport faults with the same idempotency key, so a
// retry of an append the server already acknowledged returns the original event with
// Duplicate set instead of writing a second one.
func (c *Client) Emit(ctx context.Context, sessionID string, event *omav1.Event, opts EmitOptions) (*omav1.EmitEventResponse, error) {
	req := &omav1.EmitEventRequest{SessionId: sessionID, Event: event, IdempotencyKey: keyOr(opts.IdempotencyKey), ExpectedHeadSeq: opts.ExpectedHeadSeq, LeaseEpoch: opts.LeaseEpoch}
	var res *omav1.EmitEventResponse
	err := withRetries(ctx, opts, func(attemptCtx context.Context) (err error) {
		res, err = c.Sessions.EmitEvent(attemptCtx, req)
		return err
	})
	return res, err
}

// EmitBatch appends events as one atomic batch (EmitEvents, SESS-4) with Emit's retry
// rules; the idempotency key covers the batch.
func (c *Client) EmitBatch(ctx context.Context, sessionID string, events []*omav1.Event, opts EmitOptions) (*omav1.EmitEventsResponse, error) {
	req := &omav1.EmitEventsRequest{SessionId: sessionID, Events: events, IdempotencyKey: keyOr(opts.IdempotencyKey), ExpectedHeadSeq: opts.ExpectedHeadSeq, LeaseEpoch: opts.LeaseEpoch}
	var res *omav1.EmitEventsResponse
	err := withRetries(ctx, opts, func(attemptCtx context.Context) (err error) {
		res, err = c.Sessions.EmitEvents(attemptCtx, req)
		return err
	})
	return res, err
}

func keyOr(key string) string {
	if key == "" {
		return NewIdempotencyKey()
	}
	return key
}

// withRetries makes attempts of call, each bounded by the attempt timeout, until one
// succeeds, fails with an answer (an error that is not transient) or the attempts run out.
func withRetries(ctx context.Context, opts EmitOptions, call func(attemptCtx context.Context) error) error {
	maxAttempts := opts.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	attemptTimeout := opts.AttemptTimeout
	if attemptTimeout <= 0 {
		attemptTimeout = DefaultEmitAttemptTimeout
	}
	for n := 1; ; n++ {
		attemptCtx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := call(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		if n >= maxAttempts || ctx.Err() != nil || !IsTransient(err) {
			return err
		}
		if !sleep(ctx, opts.Backoff.delay(n-1)) {
			return err
		}
	}
}

// UserText is a user_message event with one text block.
func UserText(text string) *omav1.Event {
	return &omav1.Event{Payload: &omav1.Event_UserMessage{UserMessage: &omav1.UserMessage{
		Content: []*omav1.ContentBlock{{Block: &omav1.ContentBlock_Text{Text: &omav1.TextBlock{Text: text}}}},
	}}}
}
