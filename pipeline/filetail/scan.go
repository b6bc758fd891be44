package filetail

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

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
// A file is tracked once however many names it has (symlinks, hard
// links): the first name the patterns give wins.
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
	ids := map[fileID]bool{}
	var fresh []candidate
	var replaced []*tracked
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
				continue // a second name (hard link, symlink) of the same file
			}
			seen[r] = true
			if t.check(r, p, fi) {
				continue
			}
			replaced = append(replaced, r) // p now holds another file
		}
		if ids[id] {
			continue // a second name of a file not tracked yet
		}
		ids[id] = true
		fresh = append(fresh, candidate{p, id, fi})
	}
	adopted := map[*tracked]bool{}
	if !first {
		fresh, adopted = t.copies(fresh, replaced)
	}
	for _, r := range replaced {
		if !adopted[r] {
			t.retire(r)
		}
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
	if first && !t.firstRun {
		t.addSaved(fresh)
	} else {
		for _, c := range fresh {
			t.add(c, first)
		}
	}
	if first {
		t.saved, t.fluentd = nil, nil
	}
	t.failures.forget(paths)
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
// device and inode. It returns false when the file is no longer r:
// truncated (copytruncate) or replaced (inode reuse); the caller then
// moves r to a copy or stops tracking it.
func (t *Tailer) check(r *tracked, p string, fi os.FileInfo) bool {
	size := fi.Size()
	changed := size != r.size.Load() || !fi.ModTime().Equal(r.mtime)
	if size < r.readOff {
		t.m.truncations.Add(context.Background(), 1, t.m.kindAttr)
		t.log.Info("file truncated; reading it again from the start", "file", p, "size", size, "offset", r.readOff)
		return false
	}
	if changed {
		ra := r.f
		if ra == nil {
			f, err := t.openFile(p)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					t.fileError(p, opOpen, err)
				}
				return true // look again next scan
			}
			t.fileOK(p)
			defer f.Close()
			ra = f
		}
		same, err := r.fp.matches(ra)
		if err == nil && !same {
			t.m.truncations.Add(context.Background(), 1, t.m.kindAttr)
			t.log.Info("file replaced (truncated and rewritten, or inode reused); reading it from the start", "file", p)
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

// opened is a candidate file, open, with what tracking it needs.
type opened struct {
	candidate
	f     *os.File
	size  int64
	fp    fingerprint
	mtime time.Time
}

// openCandidate opens the file of c and checks it is still c. A file that cannot
// be opened or read is counted and logged (rate-limited) and tried again
// on the next scan.
func (t *Tailer) openCandidate(c candidate) (*opened, bool) {
	f, err := t.openFile(c.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) { // gone since the stat: the next scan tells
			t.fileError(c.path, opOpen, err)
		}
		return nil, false
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		t.fileError(c.path, opOpen, err)
		return nil, false
	}
	if id, err := statID(fi); err != nil || id != c.id {
		f.Close()
		return nil, false // renamed over since the stat
	}
	size := fi.Size()
	fp, _, err := fingerprintOf(f, min(size, FingerprintSize))
	if err != nil {
		f.Close()
		t.fileError(c.path, opRead, err)
		return nil, false
	}
	t.fileOK(c.path)
	return &opened{candidate: c, f: f, size: size, fp: fp, mtime: fi.ModTime()}, true
}

// add starts tracking the file of c at its start position.
func (t *Tailer) add(c candidate, first bool) {
	o, ok := t.openCandidate(c)
	if !ok {
		return
	}
	t.track(o, t.startPos(c.path, c.id, o.size, first), "")
}

// track starts tracking o at start. key is the identity its lines carry
// (Record.File), "" to derive it from the file once its first line is
// complete.
func (t *Tailer) track(o *opened, start pos, key string) {
	t.seq++
	r := &tracked{
		id: o.id, seq: t.seq, path: o.path, fp: o.fp, key: key,
		cp: pipeline.NewCheckpointer[pos](), base: start,
		lineStart: start, readOff: start.Off, mtime: o.mtime,
	}
	if t.live[o.path] {
		r.livePath = o.path
	}
	r.size.Store(o.size)
	if int(t.open.Load()) < t.cfg.MaxOpenFiles {
		r.f = o.f
		t.open.Add(1)
	} else {
		o.f.Close()
	}
	t.mu.Lock()
	t.files = append(t.files, r)
	t.mu.Unlock()
	t.log.Debug("tracking file", "file", o.path, "inode", o.id.Inode, "offset", start.Off)
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
