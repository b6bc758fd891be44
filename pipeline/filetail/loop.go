package filetail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"time"
)

// readAll reads every tracked file to its current end, oldest first, so a
// rotated file is drained before the file that replaced it.
func (t *Tailer) readAll(ctx context.Context) error {
	for _, r := range slices.Clone(t.files) {
		if err := t.readFile(ctx, r); err != nil {
			return err
		}
	}
	t.reap()
	return nil
}

// final reports whether nothing will be appended to r any more: it was
// renamed away from the live path (lumberjack rotation; with live paths
// configured, every other matched file counts as rotated), or it has been
// missing for longer than the grace.
func (t *Tailer) final(r *tracked) bool {
	if r.goneScans > goneGrace {
		return true
	}
	return len(t.live) > 0 && !r.gone && !t.live[r.path]
}

func (t *Tailer) readFile(ctx context.Context, r *tracked) error {
	if r.f == nil {
		if r.gone || r.size.Load() <= r.readOff || int(t.open.Load()) >= t.cfg.MaxOpenFiles {
			return nil
		}
		if !t.reopen(r) {
			return nil
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := r.readChunk(r.f, t.rbuf, int(t.cfg.MaxLineSize), t)
		if t.full {
			t.full = false
			if err := t.send(ctx); err != nil {
				return err
			}
			continue
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) {
			t.fileError(r.path, opRead, fmt.Errorf("at offset %d: %w", r.readOff, err))
			t.closeTracked(r)
			return nil
		}
		break
	}
	if !t.final(r) {
		return nil
	}
	if r.hasPartial() {
		if t.b.file != nil && t.b.file != r {
			if err := t.send(ctx); err != nil {
				return err
			}
		}
		at, next := r.dropPartial()
		t.bad(r, reasonFragment, at, next)
		if r.livePath != "" {
			t.leadFrag[r.livePath] = true
		}
	}
	t.closeTracked(r)
	return nil
}

// reopen opens r's file by its last path, checking it is still r.
func (t *Tailer) reopen(r *tracked) bool {
	f, err := t.openFile(r.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.fileError(r.path, opOpen, err)
		}
		return false
	}
	fi, err := f.Stat()
	if err == nil {
		var id fileID
		if id, err = statID(fi); err == nil && id == r.id {
			if ok, ferr := r.fp.matches(f); ferr == nil && ok {
				r.f = f
				t.open.Add(1)
				t.fileOK(r.path)
				return true
			}
		}
	}
	f.Close()
	return false
}

// positionsLoop writes the positions file every PositionsInterval while
// something changed, until stop is closed.
func (t *Tailer) positionsLoop(stop <-chan struct{}) {
	tick := time.NewTicker(t.cfg.PositionsInterval)
	defer tick.Stop()
	var lastErr string
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		err := t.writePositions(false)
		switch {
		case err != nil && err.Error() != lastErr:
			t.log.Error("cannot write positions file; offsets are kept in memory and retried", "file", t.cfg.PositionsFile, "err", err)
			lastErr = err.Error()
		case err == nil && lastErr != "":
			t.log.Info("positions file written again", "file", t.cfg.PositionsFile)
			lastErr = ""
		}
	}
}

// snapshot returns the positions document (acknowledged offsets only) and
// the fluentd pos lines for the live files.
func (t *Tailer) snapshot() (positionsDoc, []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	doc := positionsDoc{Version: positionsVersion, Kind: string(t.cfg.Kind), Files: []filePosition{}, State: t.state}
	var fl []byte
	for _, r := range t.files {
		p := r.acked()
		doc.Files = append(doc.Files, filePosition{
			Path: r.path, Dev: r.id.Dev, Inode: r.id.Inode,
			Fingerprint: r.fp.String(), FingerprintBytes: r.fp.Len,
			Offset: p.Off, Line: p.Line, Key: r.key,
		})
		if t.live[r.path] && !r.gone {
			fl = AppendFluentdPos(fl, Position{Path: r.path, Offset: p.Off, Inode: r.id.Inode})
		}
	}
	return doc, fl
}

// writePositions writes the positions file (and the fluentd pos file)
// when their content changed or force is set.
func (t *Tailer) writePositions(force bool) error {
	doc, fl := t.snapshot()
	data, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if !force && bytes.Equal(data, t.lastWritten) && bytes.Equal(fl, t.lastFluentd) {
		return nil
	}
	if err := writeAtomic(t.cfg.PositionsFile, data); err != nil {
		t.m.positionsErrors.Add(context.Background(), 1)
		return err
	}
	t.lastWritten = data
	if t.cfg.FluentdPosFile != "" {
		if err := writeAtomic(t.cfg.FluentdPosFile, fl); err != nil {
			t.m.positionsErrors.Add(context.Background(), 1)
			return err
		}
		t.lastFluentd = fl
	}
	return nil
}
