package omaclient

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	omav1 "oma.dev/clients/go/gen/oma/v1"
)

// AppenderOptions configure OpenAppender. MaxAttempts, AttemptTimeout and Backoff are the
// retry rules (as in EmitOptions) of the EmitEvents calls that resend what a broken stream
// left unanswered. AttemptTimeout (0: DefaultEmitAttemptTimeout) also bounds the wait for
// each append's acknowledgement on the stream: a stream that stays quiet past it (a
// connection that died without a word) is cancelled and treated as broken.
type AppenderOptions struct {
	MaxAttempts    int
	AttemptTimeout time.Duration
	Backoff        Backoff
	// OnResend, if set, is called when a stream breaks (or cannot be opened) with appends
	// unanswered, before they are sent again: how many, and the cause.
	OnResend func(unanswered int, cause error)
}

// AppendOptions configure one Append.
type AppendOptions struct {
	// IdempotencyKey covers the batch (SESS-3). Empty: a new random key for this append,
	// reused if it is sent again.
	IdempotencyKey string
	// ExpectedHeadSeq, if set, appends only at this head (SESS-2), checked after every
	// earlier append of the Appender.
	ExpectedHeadSeq *int64
	// LeaseEpoch, if set, appends only under this lease (SESS-10).
	LeaseEpoch *int64
}

// ErrAppenderClosed is returned by Append after Close.
var ErrAppenderClosed = errors.New("omaclient: appender closed")

// Appender appends over one AppendEvents stream (SESS-22), for writers that append a lot:
// appends are sent at once, without waiting for the ones before, and acknowledged in order
// once durable. It is safe for concurrent use; appends are sent in the order the Append
// calls were made. Every append carries an idempotency key, so when the stream breaks the
// appends it left unanswered are sent again with EmitEvents (Client.EmitBatch), in order,
// and none is written twice (SESS-3); the next append after them opens a new stream. An
// append the server refused returns the server's error (see InfoOf).
type Appender struct {
	client *Client
	opts   AppenderOptions
	// sendMu orders the appends: held from queueing an append to sending it.
	sendMu sync.Mutex
	// mu guards the fields below; it is never held while sending or waiting on the server.
	mu        sync.Mutex
	stream    *appendStream
	resendQ   []*pendingAppend
	resending bool
	closed    bool
	workers   sync.WaitGroup
}

type pendingAppend struct {
	ctx    context.Context
	req    *omav1.AppendEventsRequest
	done   chan appendResult // buffered: the answer never waits for the caller
	sentAt time.Time         // when it went on a stream
}

type appendResult struct {
	res *omav1.AppendEventsResponse
	err error
}

type appendStream struct {
	calls   omav1.SessionService_AppendEventsClient
	pending []*pendingAppend // sent, not yet answered, in order
	cancel  context.CancelFunc
	overdue *time.Timer // cancels the stream when the oldest pending append's ack is due; guarded by Appender.mu
}

// watchLocked arms the stream's timer for its oldest unanswered append. Called with mu held.
func (s *appendStream) watchLocked(timeout time.Duration) {
	if s.overdue != nil {
		s.overdue.Stop()
		s.overdue = nil
	}
	if len(s.pending) > 0 {
		s.overdue = time.AfterFunc(time.Until(s.pending[0].sentAt.Add(timeout)), s.cancel)
	}
}

func (a *Appender) ackTimeout() time.Duration {
	if a.opts.AttemptTimeout > 0 {
		return a.opts.AttemptTimeout
	}
	return DefaultEmitAttemptTimeout
}

// OpenAppender returns an Appender on this client's connection. Its stream is opened by
// the first Append; Close it when done.
func (c *Client) OpenAppender(opts AppenderOptions) *Appender {
	return &Appender{client: c, opts: opts}
}

// Append appends events as one atomic batch and returns its acknowledgement once the batch
// is durable. When ctx ends first, Append returns ctx.Err() and the batch may or may not
// be written (sending it again under the same IdempotencyKey is safe).
func (a *Appender) Append(ctx context.Context, sessionID string, events []*omav1.Event, opts AppendOptions) (*omav1.AppendEventsResponse, error) {
	p := &pendingAppend{ctx: ctx, done: make(chan appendResult, 1), req: &omav1.AppendEventsRequest{
		SessionId: sessionID, Events: events, IdempotencyKey: keyOr(opts.IdempotencyKey), ExpectedHeadSeq: opts.ExpectedHeadSeq, LeaseEpoch: opts.LeaseEpoch,
	}}
	if err := a.send(p); err != nil {
		return nil, err
	}
	select {
	case r := <-p.done:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close waits until every append made before it is answered, then ends the stream.
func (a *Appender) Close() error {
	a.sendMu.Lock()
	a.mu.Lock()
	a.closed = true
	s := a.stream
	a.mu.Unlock()
	a.sendMu.Unlock()
	if s != nil {
		// The server answers what it has, then ends the stream; the receiver sees io.EOF.
		_ = s.calls.CloseSend()
	}
	a.workers.Wait()
	return nil
}

func (a *Appender) send(p *pendingAppend) error {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrAppenderClosed
	}
	if a.resending {
		// Behind the appends waiting to be sent again, to keep the order.
		a.resendQ = append(a.resendQ, p)
		a.mu.Unlock()
		return nil
	}
	if a.stream == nil {
		ctx, cancel := context.WithCancel(context.Background())
		calls, err := a.client.Sessions.AppendEvents(ctx)
		if err != nil {
			cancel()
			a.resendLocked([]*pendingAppend{p}, err)
			a.mu.Unlock()
			return nil
		}
		a.stream = &appendStream{calls: calls, cancel: cancel}
		a.workers.Add(1)
		go a.receive(a.stream)
	}
	s := a.stream
	p.sentAt = time.Now()
	s.pending = append(s.pending, p)
	if len(s.pending) == 1 {
		s.watchLocked(a.ackTimeout())
	}
	a.mu.Unlock()
	// A failed send shows in Recv, whose receiver hands p on with the other unanswered appends.
	_ = s.calls.Send(p.req)
	return nil
}

// receive answers the appends of one stream in order, and hands what it leaves unanswered
// on to be sent again.
func (a *Appender) receive(s *appendStream) {
	defer a.workers.Done()
	for {
		ack, err := s.calls.Recv()
		a.mu.Lock()
		if err == nil {
			if len(s.pending) > 0 {
				s.pending[0].done <- appendResult{res: ack}
				s.pending = s.pending[1:]
			}
			s.watchLocked(a.ackTimeout())
			a.mu.Unlock()
			continue
		}
		if s.overdue != nil {
			s.overdue.Stop()
		}
		s.cancel()
		if a.stream == s {
			a.stream = nil
		}
		unanswered := s.pending
		s.pending = nil
		if ReasonOf(err) != "" && len(unanswered) > 0 {
			// The server refused the first unanswered append; the ones after it may or may not
			// be applied (SESS-22) and are sent again under their keys.
			unanswered[0].done <- appendResult{err: err}
			unanswered = unanswered[1:]
		}
		if len(unanswered) > 0 {
			if err == io.EOF {
				err = errors.New("omaclient: AppendEvents stream ended with appends unanswered")
			}
			a.resendLocked(unanswered, err)
		}
		a.mu.Unlock()
		return
	}
}

// resendLocked queues appends to be sent again with EmitEvents, in order, starting the
// resender if it is not running. Called with mu held.
func (a *Appender) resendLocked(ps []*pendingAppend, cause error) {
	if a.opts.OnResend != nil {
		a.opts.OnResend(len(ps), cause)
	}
	a.resendQ = append(a.resendQ, ps...)
	if !a.resending {
		a.resending = true
		a.workers.Add(1)
		go a.resendAll()
	}
}

func (a *Appender) resendAll() {
	defer a.workers.Done()
	retry := EmitOptions{MaxAttempts: a.opts.MaxAttempts, AttemptTimeout: a.opts.AttemptTimeout, Backoff: a.opts.Backoff}
	for {
		a.mu.Lock()
		if len(a.resendQ) == 0 {
			// From here on, appends go over a new stream.
			a.resending = false
			a.mu.Unlock()
			return
		}
		p := a.resendQ[0]
		a.resendQ = a.resendQ[1:]
		a.mu.Unlock()
		if err := p.ctx.Err(); err != nil {
			p.done <- appendResult{err: err}
			continue
		}
		opts := retry
		opts.IdempotencyKey, opts.ExpectedHeadSeq, opts.LeaseEpoch = p.req.IdempotencyKey, p.req.ExpectedHeadSeq, p.req.LeaseEpoch
		res, err := a.client.EmitBatch(p.ctx, p.req.SessionId, p.req.Events, opts)
		if err != nil {
			p.done <- appendResult{err: err}
			continue
		}
		p.done <- appendResult{res: &omav1.AppendEventsResponse{Events: res.GetEvents(), Duplicate: res.GetDuplicate()}}
	}
}
