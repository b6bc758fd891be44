package filetail

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"syscall"
)

// FingerprintSize is how many leading bytes of a file identify it together
// with its device and inode. A shorter file is fingerprinted over what it
// has, and the fingerprint is extended as the file grows.
const FingerprintSize = 1024

// fileID is a file's device and inode.
type fileID struct {
	Dev   uint64
	Inode uint64
}

// fingerprint is a hash of the first Len bytes of a file.
type fingerprint struct {
	Len int64
	Sum uint64
}

func (f fingerprint) String() string { return fmt.Sprintf("%016x", f.Sum) }

// statID returns the identity and size of fi.
func statID(fi os.FileInfo) (fileID, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, errors.New("file system gives no device and inode numbers; flowship needs a POSIX file system")
	}
	return fileID{Dev: uint64(st.Dev), Inode: st.Ino}, nil //nolint:unconvert // Dev is int32 on some platforms
}

// fingerprintOf hashes the first n bytes of r. ok is false when r holds
// fewer than n bytes (the file was truncated or is not the same file).
func fingerprintOf(r io.ReaderAt, n int64) (fingerprint, bool, error) {
	var buf [FingerprintSize]byte
	if n > FingerprintSize {
		n = FingerprintSize
	}
	got, err := r.ReadAt(buf[:n], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fingerprint{}, false, err
	}
	h := fnv.New64a()
	h.Write(buf[:got])
	return fingerprint{Len: int64(got), Sum: h.Sum64()}, int64(got) == n, nil
}

// matches reports whether r still starts with the bytes fp was taken over.
func (f fingerprint) matches(r io.ReaderAt) (bool, error) {
	if f.Len == 0 {
		return true, nil
	}
	got, full, err := fingerprintOf(r, f.Len)
	if err != nil {
		return false, err
	}
	return full && got.Sum == f.Sum, nil
}

// fileKey returns the identity a file's lines carry in
// pipeline.Record.File: device, inode and a hash of the file's first line
// (at most FingerprintSize bytes). Unlike the fingerprint it does not grow
// with the file, so it is the same on every run once that line is
// complete; ok is false while it is not.
func fileKey(id fileID, r io.ReaderAt) (key string, ok bool) {
	var buf [FingerprintSize]byte
	n, err := r.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false
	}
	b := buf[:n]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else if n < FingerprintSize {
		return "", false
	}
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%x:%x:%016x", id.Dev, id.Inode, h.Sum64()), true
}
