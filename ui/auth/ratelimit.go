package auth

import (
	"sync"
	"time"
)

// failureLimiter counts failed sign-ins per key (client address, user
// name) in fixed windows: after max failures in a window the key is
// blocked until the window ends. Safe for concurrent use.
type failureLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	keys   map[string]*failures
}

type failures struct {
	start time.Time
	n     int
}

func newFailureLimiter(max int, window time.Duration) *failureLimiter {
	return &failureLimiter{max: max, window: window, keys: map[string]*failures{}}
}

// blocked reports whether key is blocked at now and, if so, for how long.
func (l *failureLimiter) blocked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.keys[key]
	if f == nil {
		return false, 0
	}
	end := f.start.Add(l.window)
	if !now.Before(end) {
		delete(l.keys, key)
		return false, 0
	}
	return f.n >= l.max, end.Sub(now)
}

// fail records one failure of key at now.
func (l *failureLimiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.keys[key]
	if f == nil || !now.Before(f.start.Add(l.window)) {
		if len(l.keys) > 100000 { // bound memory under a spray of addresses
			for k, o := range l.keys {
				if !now.Before(o.start.Add(l.window)) {
					delete(l.keys, k)
				}
			}
		}
		f = &failures{start: now}
		l.keys[key] = f
	}
	f.n++
}
