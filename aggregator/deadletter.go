package aggregator

import "time"

// badLog rate-limits bad-line log messages per kind: at most
// badLogBurst per minute, then one summary count with the next message.
type badLog struct {
	since      time.Time
	n          int
	suppressed int
	dlqFailed  bool
}

const badLogBurst = 10

// allow reports whether a message may be logged now and how many were
// suppressed before it.
func (b *badLog) allow(now time.Time) (bool, int) {
	if now.Sub(b.since) >= time.Minute {
		b.since, b.n = now, 0
	}
	if b.n >= badLogBurst {
		b.suppressed++
		return false, 0
	}
	b.n++
	s := b.suppressed
	b.suppressed = 0
	return true, s
}
