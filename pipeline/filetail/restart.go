package filetail

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// addSaved starts tracking the files found by the first scan after a
// restart. A saved position belongs to the file with its inode and
// fingerprint, under whatever name (rename rotation, also twice); failing
// that, to a file under another inode that starts with the same
// fingerprinted bytes and is at least as long as the saved offset: a copy
// (copytruncate while we were stopped), which goes on where the original
// was and keeps its identity. Every other file is new and read from its
// first byte, even at a path a saved file had.
func (t *Tailer) addSaved(fresh []candidate) {
	var files []*opened
	for _, c := range fresh {
		if o, ok := t.openCandidate(c); ok {
			files = append(files, o)
		}
	}
	start := make([]pos, len(files))
	keys := make([]string, len(files))
	matched := make([]bool, len(files))
	used := make([]bool, len(t.saved))
	for i := range start {
		start[i] = pos{Off: 0, Line: 1}
	}
	for _, copies := range []bool{false, true} {
		for j, s := range t.saved {
			for i, o := range files {
				if used[j] || matched[i] || !savedMatches(s, o, copies) {
					continue
				}
				used[j], matched[i] = true, true
				start[i], keys[i] = t.resume(s, o, copies)
			}
		}
	}
	for i, o := range files {
		t.track(o, start[i], keys[i])
	}
}

// savedMatches reports whether saved position s belongs to o: the same
// inode (and device, unless a fingerprint proves the content) with the
// same first bytes, or, for copies, another inode with the same first
// bytes and at least s.Offset of them.
func savedMatches(s filePosition, o *opened, copies bool) bool {
	sfp, err := s.fingerprint()
	if err != nil {
		return false
	}
	same := s.Inode == o.id.Inode && (s.Dev == o.id.Dev || sfp.Len > 0)
	switch {
	case !copies && !same:
		return false
	case copies && (same || sfp.Len == 0 || o.size < s.Offset):
		return false
	}
	ok, err := sfp.matches(o.f)
	return err == nil && ok
}

// resume returns where to go on in o, which saved position s belongs to,
// and the identity its lines carry.
func (t *Tailer) resume(s filePosition, o *opened, copied bool) (pos, string) {
	if s.Offset > o.size {
		t.m.positionResets.Add(context.Background(), 1, metric.WithAttributes(t.m.kind, attribute.String("reason", resetBeyondSize)))
		t.log.Warn("saved position is beyond the end of the file, whose first bytes are unchanged (rewritten in place while stopped?); reading it again from the start",
			"file", o.path, "offset", s.Offset, "size", o.size, "positions_file", t.cfg.PositionsFile)
		// Another identity, so no later stage takes its lines for the
		// ones it saw before; derived from the saved entry, so a crash
		// before the next positions write picks the same one.
		base := s.Key
		if k, ok := fileKey(o.id, o.f); ok && base == "" {
			base = k
		}
		return pos{Off: 0, Line: 1}, fmt.Sprintf("%s/reset@%d", base, s.Offset)
	}
	if copied {
		t.log.Info("file is a copy of one read before (copytruncate while stopped); going on where the original was",
			"file", o.path, "copy_of", s.Path, "offset", s.Offset)
	}
	return pos{Off: s.Offset, Line: s.Line}, s.Key
}

// startPos decides where reading a file that has no saved position of
// ours begins: on a first start, an imported fluentd position (matched by
// inode, preferring the same path); without that, start_at. Files that
// appear later, or that were created while we were stopped, start at 0.
func (t *Tailer) startPos(p string, id fileID, size int64, first bool) pos {
	zero := pos{Off: 0, Line: 1}
	switch {
	case !first || !t.firstRun:
		return zero
	case len(t.fluentd) > 0:
		best := -1
		for i, fp := range t.fluentd {
			if fp.Inode == id.Inode && (best < 0 || fp.Path == p) {
				best = i
			}
		}
		switch {
		case best >= 0 && t.fluentd[best].Offset > 0 && t.fluentd[best].Offset <= size:
			return pos{Off: t.fluentd[best].Offset}
		case best >= 0 || t.live[p]:
			return zero
		default:
			return pos{Off: size} // rotated before fluentd stopped: fluentd read it all
		}
	case t.cfg.StartAt == StartEnd:
		return pos{Off: size}
	}
	return zero
}
