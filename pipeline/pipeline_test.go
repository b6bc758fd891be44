package pipeline

import (
	"errors"
	"testing"
)

func TestSplitCallsParentOnceAfterAll(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		errs    []error
		wantErr bool
	}{
		{"zero", 0, nil, false},
		{"all ok", 3, []error{nil, nil, nil}, false},
		{"one failed", 3, []error{nil, errors.New("x"), nil}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			var got error
			acks := Split(func(err error) { calls++; got = err }, tc.n)
			for i, a := range acks {
				if calls != 0 {
					t.Fatalf("parent called before all %d children acked (after %d)", tc.n, i)
				}
				a(tc.errs[i])
				a(tc.errs[i]) // a second call must be ignored
			}
			if calls != 1 {
				t.Fatalf("parent called %d times, want 1", calls)
			}
			if (got != nil) != tc.wantErr {
				t.Fatalf("parent err = %v, wantErr %v", got, tc.wantErr)
			}
		})
	}
}

func TestMergeCallsEach(t *testing.T) {
	n := 0
	Merge(func(error) { n++ }, func(error) { n += 10 })(nil)
	if n != 11 {
		t.Fatalf("n = %d, want 11", n)
	}
}

func TestCheckpointerContiguous(t *testing.T) {
	c := NewCheckpointer[int]()
	r1, r2, r3 := c.Track(10), c.Track(20), c.Track(30)
	if _, ok := c.Highest(); ok {
		t.Fatal("watermark before any resolve")
	}
	r2(nil)
	if _, ok := c.Highest(); ok {
		t.Fatal("watermark moved past an unresolved entry")
	}
	r1(nil)
	if h, _ := c.Highest(); h != 20 {
		t.Fatalf("highest = %d, want 20", h)
	}
	r3(errors.New("failed"))
	r4 := c.Track(40)
	r4(nil)
	if h, _ := c.Highest(); h != 20 {
		t.Fatalf("highest = %d after a failure, want 20", h)
	}
}

// TestCheckpointerIsBoundedAfterAFailure: once an entry failed, the
// entries tracked after it can never move the watermark, so none is
// kept: a tailer that reads on after a failed batch (until restart) does
// not grow it. Entries before the failed one still move the watermark.
func TestCheckpointerIsBoundedAfterAFailure(t *testing.T) {
	c := NewCheckpointer[int]()
	r1, r2, r3 := c.Track(10), c.Track(20), c.Track(30)
	r2(errors.New("failed"))
	for i := range 100000 {
		c.Track(40 + i)(nil)
	}
	if n := c.Pending(); n > 3 {
		t.Fatalf("%d entries kept after a failure, want at most the 3 tracked before it", n)
	}
	r3(nil)
	r1(nil)
	if h, _ := c.Highest(); h != 10 {
		t.Fatalf("highest = %d, want 10 (the entry before the failed one)", h)
	}
	if n := c.Pending(); n > 2 {
		t.Fatalf("%d entries kept, want at most the failed one and the one after it", n)
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		bad  bool
	}{
		{"512", 512, false}, {"64KiB", 64 << 10, false}, {"1MiB", 1 << 20, false},
		{"10MB", 10e6, false}, {"1.5MiB", 3 << 19, false}, {"x", 0, true}, {"-1", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseByteSize(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %v, %v; want %v, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
	if s := ByteSize(1 << 20).String(); s != "1MiB" {
		t.Errorf("String() = %q", s)
	}
}
