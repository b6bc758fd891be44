package aggregator

import (
	"fmt"
	"time"
)

// Reasons a line is refused by the event-time sanity window. Such a line
// is dead-lettered with the reason, counted in
// flowship_aggregator_rejected_lines_total{kind,reason} and acknowledged:
// it does not enter a bucket and does not move the watermark.
const (
	// RejectEndTimeZero: end_time is 0 or negative (missing); its bucket
	// would be in 1970 and create a "…-1970.01.01" index.
	RejectEndTimeZero = "end_time_zero"
	// RejectEndBeforeStart: end_time is before start_time.
	RejectEndBeforeStart = "end_before_start"
	// RejectFuture: end_time is more than max_future ahead of the clock.
	// Such a line would pin its bucket (and its file's position) open
	// until the clock reaches it.
	RejectFuture = "future"
	// RejectTooOld: the UTC day of end_time started at least max_age ago,
	// so its daily index is past retention (and may already be deleted;
	// writing the line would create it again).
	RejectTooOld = "too_old"
)

// eventWindow is the event-time sanity window of one kind.
type eventWindow struct {
	maxFuture time.Duration // 0: no bound
	maxAge    time.Duration // 0: no bound; a multiple of 24h
	now       func() time.Time
}

// check returns the reason and a message when a line with the given
// start and end time (Unix seconds) is outside the window, or "" if it
// is inside.
func (w *eventWindow) check(start, end int64) (reason string, err error) {
	switch {
	case end <= 0:
		return RejectEndTimeZero, fmt.Errorf("end_time %d is not a time; the line would go into a 1970 bucket", end)
	case end < start:
		return RejectEndBeforeStart, fmt.Errorf("end_time %d is before start_time %d", end, start)
	}
	if w.maxFuture <= 0 && w.maxAge <= 0 {
		return "", nil
	}
	now := w.now().Unix()
	if w.maxFuture > 0 && end > now+int64(w.maxFuture/time.Second) {
		return RejectFuture, fmt.Errorf("end_time %s is %s ahead of the clock, more than aggregation.max_future %s",
			time.Unix(end, 0).UTC().Format(time.RFC3339), time.Duration(end-now)*time.Second, w.maxFuture)
	}
	if w.maxAge > 0 {
		day := floorDiv(end, 86400) * 86400
		if day+int64(w.maxAge/time.Second) <= now {
			return RejectTooOld, fmt.Errorf("end_time %s is on a UTC day that started at least aggregation.max_age %s ago (its daily index is past retention)",
				time.Unix(end, 0).UTC().Format(time.RFC3339), w.maxAge)
		}
	}
	return "", nil
}
