package omaclient

import (
	"context"
	"math"
	"math/rand"
	"time"
)

// Backoff is exponential with full jitter: before retry n (0-based) it waits a uniform
// time in [0, min(Max, Initial·Multiplier^n)].
type Backoff struct {
	Initial    time.Duration // default 100 ms
	Max        time.Duration // default 5 s
	Multiplier float64       // default 2
}

func (b Backoff) delay(attempt int) time.Duration {
	initial, max, mult := b.Initial, b.Max, b.Multiplier
	if initial <= 0 {
		initial = 100 * time.Millisecond
	}
	if max <= 0 {
		max = 5 * time.Second
	}
	if mult < 1 {
		mult = 2
	}
	ceiling := math.Min(float64(max), float64(initial)*math.Pow(mult, float64(attempt)))
	return time.Duration(rand.Float64() * ceiling)
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
