package filetail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// positionsVersion is the version of the positions file format.
const positionsVersion = 1

// positionsDoc is the positions file: JSON, versioned, one entry per file
// identity, plus the opaque state another stage attached with SetState.
type positionsDoc struct {
	Version int             `json:"version"`
	Kind    string          `json:"kind"`
	Files   []filePosition  `json:"files"`
	State   json.RawMessage `json:"state,omitempty"`
}

// filePosition is the acknowledged position in one file.
type filePosition struct {
	Path             string `json:"path"`
	Dev              uint64 `json:"dev"`
	Inode            uint64 `json:"inode"`
	Fingerprint      string `json:"fingerprint"`       // FNV-1a 64 of the first fingerprint_bytes, hex
	FingerprintBytes int64  `json:"fingerprint_bytes"` // ≤ FingerprintSize
	Offset           int64  `json:"offset"`            // byte offset after the last acknowledged line
	Line             int64  `json:"line,omitempty"`    // lines before Offset, 0 when unknown
	// Key is the identity the file's lines carry (pipeline.Record.File);
	// a copy that resumes this position keeps it. Empty when no line was
	// read yet or in files written before it existed.
	Key string `json:"key,omitempty"`
}

func (p filePosition) fingerprint() (fingerprint, error) {
	sum, err := strconv.ParseUint(p.Fingerprint, 16, 64)
	if err != nil || p.FingerprintBytes < 0 || p.FingerprintBytes > FingerprintSize {
		return fingerprint{}, fmt.Errorf("file %q: bad fingerprint %q over %d bytes", p.Path, p.Fingerprint, p.FingerprintBytes)
	}
	return fingerprint{Len: p.FingerprintBytes, Sum: sum}, nil
}

// errCorrupt marks a positions file that cannot be used.
var errCorrupt = errors.New("corrupt positions file")

// loadPositions reads path. A missing file gives (nil, nil). A file that
// does not parse gives an error wrapping errCorrupt.
func loadPositions(path string, kind string) (*positionsDoc, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read positions file %s: %w", path, err)
	}
	return parsePositions(data, path, kind)
}

// parsePositions parses the content of positions file path. A document
// that does not parse or holds an invalid entry gives an error wrapping
// errCorrupt.
func parsePositions(data []byte, path, kind string) (*positionsDoc, error) {
	var doc positionsDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w %s: %v", errCorrupt, path, err)
	}
	if doc.Version != positionsVersion {
		return nil, fmt.Errorf("%w %s: version %d, this flowship reads version %d", errCorrupt, path, doc.Version, positionsVersion)
	}
	if doc.Kind != kind {
		return nil, fmt.Errorf("%w %s: it holds kind %q, this input is %q; give each input its own positions_file", errCorrupt, path, doc.Kind, kind)
	}
	for _, f := range doc.Files {
		if _, err := f.fingerprint(); err != nil || f.Offset < 0 || f.Line < 0 {
			return nil, fmt.Errorf("%w %s: entry for %q is invalid", errCorrupt, path, f.Path)
		}
	}
	return &doc, nil
}

// keepCorrupt copies a corrupt positions file aside to path+".corrupt" so
// it can be inspected, and removes the original.
func keepCorrupt(path string) error {
	if err := os.Rename(path, path+".corrupt"); err != nil {
		return fmt.Errorf("move corrupt positions file %s aside: %w", path, err)
	}
	return nil
}

// writeAtomic replaces path with data: a temporary file in the same
// directory is written and fsynced, renamed over path, and the directory
// is fsynced, so a crash leaves either the old or the new content.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory of %s: %w", path, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory of %s: %w", path, err)
	}
	return nil
}
