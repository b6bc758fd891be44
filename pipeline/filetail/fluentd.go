package filetail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Position is one entry of a fluentd in_tail pos file: the byte offset
// after the last line fluentd consumed from the file at Path with Inode.
type Position struct {
	Path   string
	Offset int64
	Inode  uint64
}

// fluentdUnwatched is the offset fluentd writes for a file it no longer
// watches; such entries carry no position.
const fluentdUnwatched = "ffffffffffffffff"

// ImportFluentdPos reads a fluentd in_tail pos file (spec §3.6, §7.1):
// one "<path>\t<offset, 16 hex digits>\t<inode, 16 hex digits>" per line.
// Unwatched entries (offset ffffffffffffffff) and blank lines are left
// out; when a path and inode occur more than once the last entry wins
// (fluentd rewrites entries in place and compacts on restart). A malformed
// line is an error naming the file and line.
func ImportFluentdPos(path string) ([]Position, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read fluentd pos file: %w", err)
	}
	var out []Position
	index := map[Position]int{} // key: Path+Inode with Offset 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		p, unwatched, err := parseFluentdPosLine(line)
		if err != nil {
			return nil, fmt.Errorf("fluentd pos file %s line %d: %w; expected <path>TAB<16 hex digit offset>TAB<16 hex digit inode>", path, n, err)
		}
		if unwatched {
			continue
		}
		key := Position{Path: p.Path, Inode: p.Inode}
		if i, ok := index[key]; ok {
			out[i] = p
			continue
		}
		index[key] = len(out)
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read fluentd pos file %s: %w", path, err)
	}
	return out, nil
}

func parseFluentdPosLine(line string) (p Position, unwatched bool, err error) {
	parts := strings.Split(line, "\t")
	if len(parts) != 3 || parts[0] == "" {
		return p, false, errors.New("want 3 tab-separated fields")
	}
	p.Path = parts[0]
	if strings.EqualFold(parts[1], fluentdUnwatched) {
		unwatched = true
	} else {
		off, err := strconv.ParseUint(parts[1], 16, 63)
		if err != nil {
			return p, false, fmt.Errorf("offset %q is not hex", parts[1])
		}
		p.Offset = int64(off)
	}
	ino, err := strconv.ParseUint(parts[2], 16, 64)
	if err != nil {
		return p, false, fmt.Errorf("inode %q is not hex", parts[2])
	}
	p.Inode = ino
	return p, unwatched, nil
}

// AppendFluentdPos appends p in fluentd in_tail pos format, the format
// Felix's dynamic aggregation reads: path, offset and inode as 16 hex
// digits, tab-separated, newline-terminated.
func AppendFluentdPos(b []byte, p Position) []byte {
	return fmt.Appendf(b, "%s\t%016x\t%016x\n", p.Path, p.Offset, p.Inode)
}
