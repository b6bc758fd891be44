package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff with full jitter.
type Backoff struct {
	Initial time.Duration // first delay; default 100ms
	Max     time.Duration // cap on one delay; default 30s
	// MaxAttempts bounds the attempts; 0 means retry until ctx ends.
	MaxAttempts int
}

// DefaultBackoff returns 100ms initial, 30s cap, unbounded attempts.
func DefaultBackoff() Backoff { return Backoff{Initial: 100 * time.Millisecond, Max: 30 * time.Second} }

// Delay returns the jittered delay before attempt n (n >= 1 is the first
// retry): a uniform value in [d/2, d] with d = min(Max, Initial*2^(n-1)).
func (b Backoff) Delay(n int) time.Duration {
	ini, max := b.Initial, b.Max
	if ini <= 0 {
		ini = 100 * time.Millisecond
	}
	if max <= 0 {
		max = 30 * time.Second
	}
	d := ini
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Permanent marks an error that must not be retried.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }

// IsPermanent reports whether err is or wraps a *Permanent.
func IsPermanent(err error) bool {
	var p *Permanent
	return errors.As(err, &p)
}

// Retry calls fn until it returns nil, a permanent error, ctx ends, or
// MaxAttempts is reached. onRetry, when not nil, is called before each wait
// with the attempt number and the error, so the caller can log and count.
func Retry(ctx context.Context, b Backoff, fn func(context.Context) error, onRetry func(attempt int, err error)) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || IsPermanent(err) {
			return err
		}
		if b.MaxAttempts > 0 && attempt >= b.MaxAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if onRetry != nil {
			onRetry(attempt, err)
		}
		t := time.NewTimer(b.Delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}
