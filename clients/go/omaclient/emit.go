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
	key := opts.IdempotencyKey
	if key == "" {
		key = NewIdempotencyKey()
	}
	req := &omav1.EmitEventRequest{SessionId: sessionID, Event: event, IdempotencyKey: key, ExpectedHeadSeq: opts.ExpectedHeadSeq, LeaseEpoch: opts.LeaseEpoch}
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
		res, err := c.Sessions.EmitEvent(attemptCtx, req)
		cancel()
		if err == nil {
			return res, nil
		}
		if n >= maxAttempts || ctx.Err() != nil || !IsTransient(err) {
			return nil, err
		}
		if !sleep(ctx, opts.Backoff.delay(n-1)) {
			return nil, err
		}
	}
}

// UserText is a user_message event with one text block.
func UserText(text string) *omav1.Event {
	return &omav1.Event{Payload: &omav1.Event_UserMessage{UserMessage: &omav1.UserMessage{
		Content: []*omav1.ContentBlock{{Block: &omav1.ContentBlock_Text{Text: &omav1.TextBlock{Text: text}}}},
	}}}
}
