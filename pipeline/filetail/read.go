package filetail

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// pos is a place in a file: a byte offset and the 1-based number of the
// line that starts there (0 when unknown, e.g. after starting at the end).
type pos struct {
	Off  int64
	Line int64
}

func (p pos) after(n int64) pos {
	p.Off += n
	if p.Line > 0 {
		p.Line++
	}
	return p
}

// tracked is one file identity being read. Identity fields (path, fp,
// key, livePath, gone, goneScans) are written under Tailer.mu because the
// positions writer reads them; reader fields belong to the read loop
// alone.
type tracked struct {
	id        fileID
	seq       uint64
	path      string      // last path it was seen at
	livePath  string      // the live path it was last seen at, "" if never
	fp        fingerprint // of the first fp.Len bytes
	key       string      // identity for Record.File; "" until derived (see fileKey)
	gone      bool        // not found by the globs at the last scan
	goneScans int         // consecutive scans it was not found
	cp        *pipeline.Checkpointer[pos]
	base      pos          // start position, acknowledged by definition
	size      atomic.Int64 // size at the last look, for the lag metric

	// read loop only
	f         *os.File
	lineStart pos   // start of the line being assembled
	readOff   int64 // next byte to read
	carry     []byte
	skipping  bool // inside a line longer than MaxLineSize
	mtime     time.Time
}

// acked returns the acknowledged position.
func (r *tracked) acked() pos {
	if p, ok := r.cp.Highest(); ok {
		return p
	}
	return r.base
}

// lineSink receives what readChunk finds. line returns false when the
// current batch is full and reading must pause; so does bad.
type lineSink interface {
	line(r *tracked, b []byte, at pos) bool
	bad(r *tracked, reason string, at pos, next pos) bool
}

// Reasons a line is not passed on (metric attribute "reason").
const (
	reasonTooLong  = "too_long"
	reasonFragment = "fragment"
)

// readChunk reads once from src (r's file) at readOff into buf and hands
// every complete line to sink, stopping early when sink is full. It
// returns how many bytes it consumed and io.EOF when the file had nothing
// more to give.
func (r *tracked) readChunk(src io.ReaderAt, buf []byte, maxLine int, sink lineSink) (int, error) {
	n, err := src.ReadAt(buf, r.readOff)
	eof := errors.Is(err, io.EOF)
	if err != nil && !eof {
		return 0, err
	}
	data := buf[:n]
	consumed := 0
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			r.appendPartial(data, maxLine)
			consumed += len(data)
			break
		}
		seg, at := data[:i], r.lineStart
		next := at.after(r.readOff - at.Off + int64(i) + 1)
		switch {
		case r.skipping || len(r.carry)+len(seg) > maxLine:
			if !sink.bad(r, reasonTooLong, at, next) {
				return consumed, nil
			}
		case len(r.carry) > 0:
			// r.carry keeps its length, so a refused line is rebuilt later.
			if !sink.line(r, append(r.carry, seg...), at) {
				return consumed, nil // not consumed: read again later
			}
		default:
			if !sink.line(r, seg, at) {
				return consumed, nil
			}
		}
		r.carry, r.skipping = r.carry[:0], false
		r.readOff, r.lineStart = next.Off, next
		consumed += i + 1
		data = data[i+1:]
	}
	if eof {
		return consumed, io.EOF
	}
	return consumed, nil
}

// appendPartial keeps the start of an unfinished line, switching to
// skipping mode once it exceeds maxLine so memory stays bounded.
func (r *tracked) appendPartial(data []byte, maxLine int) {
	r.readOff += int64(len(data))
	if r.skipping {
		return
	}
	if len(r.carry)+len(data) > maxLine {
		r.skipping = true
		r.carry = r.carry[:0]
		return
	}
	r.carry = append(r.carry, data...)
}

// hasPartial reports whether bytes of an unfinished line were read.
func (r *tracked) hasPartial() bool { return r.readOff > r.lineStart.Off }

// dropPartial gives up on the unfinished line (a fragment left by
// rotation or deletion) and returns where the next line would start.
func (r *tracked) dropPartial() (at, next pos) {
	at = r.lineStart
	next = at.after(r.readOff - at.Off)
	r.carry, r.skipping = r.carry[:0], false
	r.lineStart = next
	return at, next
}

// closeFile closes the descriptor, if open.
func (r *tracked) closeFile() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}
