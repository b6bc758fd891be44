package filetail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// fuzzSink records what readChunk hands on and refuses every refuseEvery-th
// call (never twice in a row), as a full batch does.
type fuzzSink struct {
	refuseEvery int
	calls       int
	refused     bool
	got         []string
}

func (s *fuzzSink) refuse() bool {
	s.calls++
	if s.refuseEvery > 0 && !s.refused && s.calls%s.refuseEvery == 0 {
		s.refused = true
		return true
	}
	s.refused = false
	return false
}

func (s *fuzzSink) line(_ *tracked, b []byte, at pos) bool {
	if s.refuse() {
		return false
	}
	s.got = append(s.got, fmt.Sprintf("line %d@%d %q", at.Line, at.Off, b))
	return true
}

func (s *fuzzSink) bad(_ *tracked, reason string, at, next pos) bool {
	if s.refuse() {
		return false
	}
	s.got = append(s.got, fmt.Sprintf("bad %s %d@%d..%d", reason, at.Line, at.Off, next.Off))
	return true
}

// FuzzReadChunk reads data with any buffer size, line limit and refusal
// pattern and compares with a plain split on newlines: every complete
// line exactly once, in order, at its exact offset and line number,
// lines over the limit reported as too long, the unfinished end held
// back.
func FuzzReadChunk(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc\npartial"), uint16(4), uint16(3), uint8(0))
	f.Add([]byte("before\n"+strings.Repeat("L", 300)+"\nafter\n"), uint16(7), uint16(100), uint8(2))
	f.Add([]byte("\n\n\n"), uint16(1), uint16(0), uint8(1))
	f.Add([]byte("x\r\n\x00\x00\x00\nyy"), uint16(2), uint16(1), uint8(3))
	f.Add([]byte(strings.Repeat("m", 100)+"\n"+strings.Repeat("n", 101)+"\n"), uint16(64), uint16(100), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, bufSize, maxLine uint16, refuseEvery uint8) {
		bs, ml := int(bufSize%300)+1, int(maxLine%200)
		var want []string
		off, line := 0, int64(1)
		for {
			i := bytes.IndexByte(data[off:], '\n')
			if i < 0 {
				break
			}
			seg := data[off : off+i]
			if len(seg) > ml {
				want = append(want, fmt.Sprintf("bad %s %d@%d..%d", reasonTooLong, line, off, off+i+1))
			} else {
				want = append(want, fmt.Sprintf("line %d@%d %q", line, off, seg))
			}
			off += i + 1
			line++
		}
		r := &tracked{lineStart: pos{Off: 0, Line: 1}}
		sink := &fuzzSink{refuseEvery: int(refuseEvery % 8)}
		src, buf := bytes.NewReader(data), make([]byte, bs)
		for steps := 0; ; steps++ {
			if steps > 4*len(data)+10 {
				t.Fatalf("no progress after %d reads: at %d of %d", steps, r.readOff, len(data))
			}
			_, err := r.readChunk(src, buf, ml, sink)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if strings.Join(sink.got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("buffer %d, max line %d, refuse every %d:\ngot:\n%s\nwant:\n%s",
				bs, ml, sink.refuseEvery, strings.Join(sink.got, "\n"), strings.Join(want, "\n"))
		}
		if r.lineStart.Off != int64(off) || r.lineStart.Line != line || r.readOff != int64(len(data)) ||
			r.hasPartial() != (off < len(data)) {
			t.Fatalf("end state: line start %+v, read to %d, partial %v; want line start %d/%d, read to %d",
				r.lineStart, r.readOff, r.hasPartial(), off, line, len(data))
		}
	})
}

// FuzzParsePositions: any content of a positions file either loads as a
// document whose every entry is usable (a parseable fingerprint over at
// most FingerprintSize bytes, offsets and line numbers not negative) and
// that writes back to the same document, or is reported corrupt (the
// file is then kept aside and reading starts per start_at); it never
// panics.
func FuzzParsePositions(f *testing.F) {
	f.Add([]byte(`{"version":1,"kind":"flows","files":[{"path":"/x","dev":1,"inode":2,"fingerprint":"00000000000000ff","fingerprint_bytes":3,"offset":4,"line":2,"key":"1:2:3"}],"state":{"version":1}}`))
	f.Add([]byte(`{"version":1,"kind":"flows","files":[]}`))
	f.Add([]byte("{\"version\":1,\"files\":[{"))
	f.Add([]byte(`{"version":99,"kind":"flows","files":[]}`))
	f.Add([]byte(`{"version":1,"kind":"dns","files":[]}`))
	f.Add([]byte(`{"version":1,"kind":"flows","files":[{"path":"/x","dev":1,"inode":2,"fingerprint":"zz","fingerprint_bytes":3,"offset":4}]}`))
	f.Add([]byte(`{"version":1,"kind":"flows","files":[{"path":"/x","dev":1,"inode":2,"fingerprint":"0","fingerprint_bytes":0,"offset":-4}]}`))
	f.Add([]byte(`{"version":1,"kind":"flows","files":[{"path":"/x","dev":1,"inode":2,"fingerprint":"0","fingerprint_bytes":2000,"offset":4,"line":-1}]}`))
	f.Add([]byte(`{"version":1,"kind":"flows","files":[],"extra":true}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parsePositions(data, "p.json", "flows")
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not mark the file corrupt", err)
			}
			return
		}
		if doc == nil {
			t.Fatal("nil document without an error")
		}
		for _, e := range doc.Files {
			fp, err := e.fingerprint()
			if err != nil || fp.Len < 0 || fp.Len > FingerprintSize || e.Offset < 0 || e.Line < 0 {
				t.Fatalf("unusable entry loaded: %+v (%v)", e, err)
			}
		}
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("loaded document does not write back: %v", err)
		}
		again, err := parsePositions(out, "p.json", "flows")
		if err != nil {
			t.Fatalf("written document does not load: %v\n%s", err, out)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the document:\n%s\n%s", out, out2)
		}
	})
}
