package filetail

import (
	"io"
	"os"
	"slices"
)

// copies handles copytruncate while running when the copy has a name the
// patterns match. A new file whose first bytes are those of a file just
// found truncated is its copy: the tailer goes on in it where it was in
// the original (same identity, batch and checkpoint) instead of reading
// it again from the start. A new file whose first bytes are those of a
// file still being read is a copy in progress: it is looked at again on
// the next scan (and never read while the original is not truncated: its
// lines are the original's). It returns the candidates to track as new
// files and the replaced files that moved to their copy.
func (t *Tailer) copies(fresh []candidate, replaced []*tracked) ([]candidate, map[*tracked]bool) {
	adopted := map[*tracked]bool{}
	var keep []candidate
	for _, c := range fresh {
		f, err := t.openFile(c.path)
		if err != nil {
			keep = append(keep, c) // add reports it
			continue
		}
		var of *tracked
		for _, r := range replaced {
			if !adopted[r] && r.id != c.id && startsLike(f, r) {
				of = r
				break
			}
		}
		if of != nil && t.adopt(of, c, f) {
			adopted[of] = true
			continue
		}
		inProgress := false
		for _, r := range t.files {
			if r.id != c.id && !slices.Contains(replaced, r) && startsLike(f, r) {
				inProgress = true
				break
			}
		}
		f.Close()
		if inProgress {
			t.log.Debug("new file starts like a file being read: a copy (copytruncate?); not read unless that file is truncated",
				"file", c.path)
			continue
		}
		keep = append(keep, c)
	}
	return keep, adopted
}

// startsLike reports whether f starts with the fingerprinted bytes of r.
func startsLike(f io.ReaderAt, r *tracked) bool {
	if r.fp.Len == 0 {
		return false
	}
	ok, err := r.fp.matches(f)
	return err == nil && ok
}

// adopt moves r, whose file was truncated, to its copy c (open as f).
func (t *Tailer) adopt(r *tracked, c candidate, f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	if id, err := statID(fi); err != nil || id != c.id {
		return false
	}
	t.closeTracked(r)
	t.mu.Lock()
	old := r.path
	r.id, r.path = c.id, c.path
	r.gone, r.goneScans = false, 0
	t.mu.Unlock()
	r.size.Store(fi.Size())
	r.mtime = fi.ModTime()
	if int(t.open.Load()) < t.cfg.MaxOpenFiles {
		r.f = f
		t.open.Add(1)
	} else {
		f.Close()
	}
	t.log.Info("file truncated after it was copied (copytruncate); going on in the copy where the original was",
		"file", c.path, "copy_of", old, "offset", r.readOff, "size", fi.Size())
	return true
}
