package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// runCompress measures a lower bound of what shipping costs, whatever the
// design: only compressing a file of documents (what `flowship aggregate`
// writes for a workload) in batches of Kafka's batch size, with the
// codecs flowship offers, on one goroutine, reusing one encoder. It
// prints the CPU time of each, per million input lines when --lines
// says how many lines the documents came from:
//
//	fsbench compress --lines 1000000 docs.ndjson
func runCompress(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compress", flag.ContinueOnError)
	batch := fs.Int("batch", 1<<20, "bytes per batch (kafka.batch_bytes)")
	lines := fs.Int64("lines", 0, "input lines the documents came from (0: report per file)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *batch < 1 {
		return errors.New("usage: fsbench compress [--batch BYTES] [--lines N] DOCS.ndjson")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("%s is empty", fs.Arg(0))
	}
	per := 1.0
	unit := "CPU-s for the file"
	if *lines > 0 {
		per, unit = 1e6/float64(*lines), "CPU-s per 1M input lines"
	}
	var out bytes.Buffer
	run := func(name string, f func(dst *bytes.Buffer, src []byte) error) error {
		c0 := cpuTime()
		total := 0
		for i := 0; i < len(data); i += *batch {
			out.Reset()
			if err := f(&out, data[i:min(i+*batch, len(data))]); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			total += out.Len()
		}
		fmt.Fprintf(stdout, "%-14s %6.2f %s, ratio %.2f\n", name, (cpuTime()-c0).Seconds()*per, unit, float64(len(data))/float64(total))
		return nil
	}
	fmt.Fprintf(stdout, "%d bytes of documents in %d-byte batches\n", len(data), *batch)
	if err := run("copy", func(dst *bytes.Buffer, src []byte) error { _, err := dst.Write(src); return err }); err != nil {
		return err
	}
	for _, lv := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(lv), zstd.WithEncoderConcurrency(1),
			zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithWindowSize(1<<20))
		if err != nil {
			return err
		}
		if err := run("zstd-"+lv.String(), func(dst *bytes.Buffer, src []byte) error {
			enc.Reset(dst)
			if _, err := enc.Write(src); err != nil {
				return err
			}
			return enc.Close()
		}); err != nil {
			return err
		}
	}
	lw := lz4.NewWriter(nil)
	return run("lz4", func(dst *bytes.Buffer, src []byte) error {
		lw.Reset(dst)
		if _, err := lw.Write(src); err != nil {
			return err
		}
		return lw.Close()
	})
}

// cpuTime is the user + system time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
