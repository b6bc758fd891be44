package pipeline

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes that reads from YAML as "512", "64KiB",
// "1MiB", "2GiB", "10MB" or "1.5MiB" (binary and decimal units).
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseByteSize parses s as a ByteSize.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			mult, t = u.mult, strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid size %q: want a number with an optional unit such as 64KiB, 1MiB or 10MB", s)
	}
	return ByteSize(f * mult), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (used by YAML).
func (b *ByteSize) UnmarshalText(p []byte) error {
	v, err := ParseByteSize(string(p))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// String formats b with the largest binary unit that divides it exactly.
func (b ByteSize) String() string {
	for _, u := range sizeUnits[:4] {
		m := int64(u.mult)
		if u.suffix == "KiB" {
			continue
		}
		if b != 0 && int64(b)%m == 0 {
			return strconv.FormatInt(int64(b)/m, 10) + u.suffix
		}
	}
	if b != 0 && int64(b)%1024 == 0 {
		return strconv.FormatInt(int64(b)/1024, 10) + "KiB"
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}
