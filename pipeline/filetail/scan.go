package filetail

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	"github.com/flowship/flowship/pipeline"
)

// goneGrace is how many scans a file may be missing before the tailer
// treats it as deleted for good: a glob can miss a file that is being
// renamed at that instant.
const goneGrace = 2

type candidate struct {
	path string
	id   fileID
	fi   os.FileInfo
}

// scan matches the globs against the tracked files: it follows renames,
// notices truncation, inode reuse and deletion, and starts tracking new
// files (oldest first, so rotated files are read before the live one).
func (t *Tailer) scan(first bool) error {
	var paths []string
	for _, pat := range t.cfg.Paths {
		ms, _ := filepath.Glob(pat) // patterns are validated
		for _, m := range ms {
			if !slices.Contains(paths, m) {
				paths = append(paths, m)
			}
		}
	}
	seen := map[*tracked]bool{}
	var fresh []candidate
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // vanished since the glob, or not a file
		}
		id, err := statID(fi)
		if err != nil {
			return err
		}
		if r := t.find(id); r != nil {
			if seen[r] {
				continue // a second name (hard link) of the same file
			}
			if t.check(r, p, fi) {
				seen[r] = true
				continue
			}
		}
		fresh = append(fresh, candidate{p, id, fi})
	}
	t.mu.Lock()
	for _, r := range t.files {
		if !seen[r] {
			r.goneScans++
			r.gone = true
		}
	}
	t.mu.Unlock()
	slices.SortStableFunc(fresh, func(a, b candidate) int {
		if c := a.fi.ModTime().Compare(b.fi.ModTime()); c != 0 {
			return c
		}
		if la, lb := t.live[a.path], t.live[b.path]; la != lb {
			if la {
				return 1
			}
			return -1
		}
		return 0
	})
	for _, c := range fresh {
		t.add(c, first)
	}
	if first {
		t.saved, t.fluentd = nil, nil
	}
	return nil
}

func (t *Tailer) find(id fileID) *tracked {
	for _, r := range t.files {
		if r.id == id {
			return r
		}
	}
	return nil
}

// check reconciles tracked r with the file found at p with the same
// device and inode. It returns false, and stops tracking r, when the file
// is no longer r: truncated (copytruncate) or replaced (inode reuse).
func (t *Tailer) check(r *tracked, p string, fi os.FileInfo) bool {
	size := fi.Size()
	changed := size != r.size.Load() || !fi.ModTime().Equal(r.mtime)
	if size < r.readOff {
		t.m.truncations.Add(context.Background(), 1, t.m.kindAttr)
		t.log.Info("file truncated; reading it again from the start", "file", p, "size", size, "offset", r.readOff)
		t.retire(r)
		return false
	}
	if changed {
		ra := r.f
		if ra == nil {
			f, err := os.Open(p)
			if err != nil {
				return true // look again next scan
			}
			defer f.Close()
			ra = f
		}
		same, err := r.fp.matches(ra)
		if err == nil && !same {
			t.m.truncations.Add(context.Background(), 1, t.m.kindAttr)
			t.log.Info("file replaced (truncated and rewritten, or inode reused); reading it from the start", "file", p)
			t.retire(r)
			return false
		}
		if err == nil && r.fp.Len < FingerprintSize && size > r.fp.Len {
			if fp, _, err := fingerprintOf(ra, min(size, FingerprintSize)); err == nil {
				t.mu.Lock()
				r.fp = fp
				t.mu.Unlock()
			}
		}
	}
	t.mu.Lock()
	r.path = p
	if t.live[p] {
		r.livePath = p
	}
	r.gone, r.goneScans = false, 0
	t.mu.Unlock()
	r.size.Store(size)
	r.mtime = fi.ModTime()
	return true
}

// retire stops tracking r. Acks of its batches in flight still resolve
// into its checkpointer, which nothing reads any more.
func (t *Tailer) retire(r *tracked) {
	t.closeTracked(r)
	if t.b.file == r {
		t.b = batch{} // unsent lines of the old content; their file is gone
	}
	t.mu.Lock()
	t.files = slices.DeleteFunc(t.files, func(x *tracked) bool { return x == r })
	t.mu.Unlock()
}

// add starts tracking the file of c at its start position.
func (t *Tailer) add(c candidate, first bool) {
	f, err := os.Open(c.path)
	if err != nil {
		return // gone since the stat; the next scan will tell
	}
	fi, err := f.Stat()
	if id, ierr := statID(fi); err != nil || ierr != nil || id != c.id {
		f.Close()
		return // renamed over since the stat
	}
	size := fi.Size()
	fp, _, err := fingerprintOf(f, min(size, FingerprintSize))
	if err != nil {
		f.Close()
		t.log.Warn("cannot read file; will try again", "file", c.path, "err", err)
		return
	}
	start := t.startPos(c.path, c.id, f, size, first)
	t.seq++
	r := &tracked{
		id: c.id, seq: t.seq, path: c.path, fp: fp,
		cp: pipeline.NewCheckpointer[pos](), base: start,
		lineStart: start, readOff: start.Off, mtime: fi.ModTime(),
	}
	if t.live[c.path] {
		r.livePath = c.path
	}
	r.size.Store(size)
	if int(t.open.Load()) < t.cfg.MaxOpenFiles {
		r.f = f
		t.open.Add(1)
	} else {
		f.Close()
	}
	t.mu.Lock()
	t.files = append(t.files, r)
	t.mu.Unlock()
	t.log.Debug("tracking file", "file", c.path, "inode", c.id.Inode, "offset", start.Off)
}

// startPos decides where reading f begins. On the first scan a saved
// position of ours (matched by identity, even under a new name) wins;
// without one, on a first start, an imported fluentd position (matched by
// inode, preferring the same path); without that, start_at. Files that
// appear later, or that were created while we were stopped, start at 0.
func (t *Tailer) startPos(p string, id fileID, f *os.File, size int64, first bool) pos {
	zero := pos{Off: 0, Line: 1}
	switch {
	case !first:
		return zero
	case !t.firstRun:
		for i, s := range t.saved {
			sfp, _ := s.fingerprint()
			if s.Inode != id.Inode || (s.Dev != id.Dev && sfp.Len == 0) {
				continue
			}
			if ok, err := sfp.matches(f); err != nil || !ok {
				continue
			}
			t.saved = slices.Delete(t.saved, i, i+1)
			if s.Offset > size {
				return zero // truncated while we were stopped
			}
			return pos{Off: s.Offset, Line: s.Line}
		}
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

// closeTracked closes r's descriptor and frees its slot.
func (t *Tailer) closeTracked(r *tracked) {
	if r.f != nil {
		r.closeFile()
		t.open.Add(-1)
	}
}

// reap forgets files deleted for good whose descriptor is closed.
func (t *Tailer) reap() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.files = slices.DeleteFunc(t.files, func(r *tracked) bool {
		if r.f != nil || r.goneScans <= goneGrace {
			return false
		}
		if r.readOff < r.size.Load() {
			t.log.Warn("file deleted before it was read to the end; its remaining lines are lost (raise max_open_files?)",
				"file", r.path, "offset", r.readOff, "size", r.size.Load())
		}
		return t.b.file != r
	})
}
