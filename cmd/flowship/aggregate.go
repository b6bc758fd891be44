package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
)

// aggregateMaxLine is the longest line `flowship aggregate` reads; a longer
// one is counted as bad and skipped, like the tailer does.
const aggregateMaxLine = 1 << 20

// runAggregate is the offline aggregator: files (or stdin) in, aggregated
// documents as JSON lines on stdout, a summary with the reduction on stderr.
func runAggregate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aggregate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file; its aggregation section is used")
	level := fs.Int("level", -1, "flow aggregation level 0-3 for allowed and denied flows (overrides the config)")
	levelAllowed := fs.Int("level-allowed", -1, "flow aggregation level for allowed flows")
	levelDenied := fs.Int("level-denied", -1, "flow aggregation level for denied flows")
	window := fs.Duration("window", 0, "event-time bucket length, e.g. 5m, 15m, 1h (overrides the config)")
	filterPath := fs.String("filter", "", "YAML file with filter rules (a 'filters:' list)")
	kindFlag := fs.String("kind", "", "kind of the input: flows, l7, dns or hubble (default: told from the file name, else from its first line; stdin defaults to flows)")
	quiet := fs.Bool("quiet", false, "do not write documents, only the summary")
	nowFlag := fs.String("now", "", "judge the event-time window (aggregation.max_future, max_age) as of this time, RFC 3339, instead of the clock: for files older than retention")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := readConfig(*configPath, SecAggregation)
	if err != nil {
		return err
	}
	ac := aggregationConfig(cfg)
	if *nowFlag != "" {
		now, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return usageError{fmt.Sprintf("--now %q: want an RFC 3339 time such as 2025-06-10T12:00:00Z", *nowFlag)}
		}
		ac.Now = func() time.Time { return now }
	}
	if *level >= 0 {
		ac.Levels.Allowed, ac.Levels.Denied = *level, *level
	}
	if *levelAllowed >= 0 {
		ac.Levels.Allowed = *levelAllowed
	}
	if *levelDenied >= 0 {
		ac.Levels.Denied = *levelDenied
	}
	if *window > 0 {
		ac.Window = *window
	}
	ac.IdleFlush = 0
	if *filterPath != "" {
		var f struct {
			Filters []aggregator.Rule `yaml:"filters"`
		}
		if err := loadConfig(*filterPath, &f); err != nil {
			return err
		}
		ac.Filters = append(ac.Filters, f.Filters...)
	}
	if err := ac.Validate(); err != nil {
		return usageError{err.Error()}
	}
	inputs := fs.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	var kinds []string
	for _, in := range inputs {
		k, err := inputKind(in, *kindFlag)
		if err != nil {
			return usageError{err.Error()}
		}
		kinds = append(kinds, k)
	}
	out := &lineSink{w: bufio.NewWriterSize(stdout, 256<<10), quiet: *quiet}
	agg, err := aggregator.New(ac, pipeline.NopTelemetry(), out)
	if err != nil {
		return err
	}
	start := time.Now()
	var readErrs int64
	for i, in := range inputs {
		n, err := feedSource(ctx, agg, out, cfg.Cluster, in, kinds[i], stderr)
		readErrs += n
		if err != nil {
			return err
		}
	}
	if err := agg.Flush(ctx); err != nil {
		return err
	}
	if err := out.w.Flush(); err != nil {
		return fmt.Errorf("writing documents: %w", err)
	}
	writeSummary(stderr, agg, readErrs, time.Since(start))
	return nil
}

// inputKind tells a file's kind from --kind, from its name, else from
// its first line (sniffKind).
func inputKind(path, flagKind string) (string, error) {
	if flagKind != "" {
		k := pipeline.Kind(flagKind)
		if k == "flow" {
			k = pipeline.KindFlow
		}
		if !k.Valid() && flagKind != sourceHubble && flagKind != sourceGoldmane {
			return "", fmt.Errorf("--kind %q: want flows, l7, dns, hubble or goldmane", flagKind)
		}
		return string(k), nil
	}
	base := filepath.Base(path)
	switch {
	case path == "-":
		return string(pipeline.KindFlow), nil
	case strings.HasPrefix(base, "flow"):
		return string(pipeline.KindFlow), nil
	case strings.HasPrefix(base, "l7"):
		return string(pipeline.KindL7), nil
	case strings.HasPrefix(base, "dns"):
		return string(pipeline.KindDNS), nil
	}
	return sniffKind(path)
}

// feedFile reads path line by line into agg in batches and returns the
// number of over-long lines it skipped.
func feedFile(ctx context.Context, agg pipeline.Consumer, path string, kind pipeline.Kind, stderr io.Writer) (int64, error) {
	var r io.Reader = os.Stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		r, name = f, path
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		batch   []pipeline.Record
		offset  int64
		lineNo  int64
		skipped int64
	)
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		b := pipeline.Batch{Records: batch, Ack: pipeline.Nop}
		batch = nil
		return agg.Consume(ctx, b)
	}
	for {
		line, err := readLine(br)
		if len(line) > 0 || err == nil || errors.Is(err, errLineTooLong) {
			lineNo++
			start := offset
			offset += int64(len(line)) + 1
			if errors.Is(err, errLineTooLong) {
				skipped++
				fmt.Fprintf(stderr, "flowship aggregate: %s:%d: line longer than %d bytes skipped\n", name, lineNo, aggregateMaxLine)
			} else if len(line) > 0 {
				batch = append(batch, pipeline.Record{Kind: kind, Value: line, Source: name, Offset: start, Line: lineNo})
			}
		}
		if len(batch) >= 1000 {
			if err := send(); err != nil {
				return skipped, err
			}
		}
		if err == io.EOF {
			return skipped, send()
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return skipped, fmt.Errorf("%s: %w", name, err)
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its newline, as a fresh slice.
// An over-long line is consumed and reported as errLineTooLong.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > aggregateMaxLine+1 {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line = trimNewline(line)
		return line, err
	}
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// lineSink writes each document as one JSON line and acks at once.
type lineSink struct {
	mu    sync.Mutex
	w     *bufio.Writer
	quiet bool
	err   error
}

func (s *lineSink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.quiet {
		for _, r := range b.Records {
			s.w.Write(r.Value)
			if err := s.w.WriteByte('\n'); err != nil && s.err == nil {
				s.err = err
			}
		}
	}
	b.Ack(s.err)
	return nil
}

func writeSummary(w io.Writer, agg *aggregator.Aggregator, skipped int64, took time.Duration) {
	fmt.Fprintf(w, "%-6s %12s %12s %10s %10s %10s %12s\n", "kind", "lines_in", "docs_out", "bad", "filtered", "rejected", "reduction")
	var in, out, rejected int64
	for _, k := range pipeline.Kinds {
		s := agg.Stats(k)
		if s.Lines == 0 {
			continue
		}
		in += s.Lines
		out += s.Documents
		rejected += s.Rejected
		fmt.Fprintf(w, "%-6s %12d %12d %10d %10d %10d %12s\n", k, s.Lines, s.Documents, s.Bad, s.Filtered, s.Rejected, reduction(s.Lines, s.Documents))
	}
	fmt.Fprintf(w, "%-6s %12d %12d %10s %10s %10s %12s\n", "total", in, out, "", "", "", reduction(in, out))
	if rejected > 0 {
		fmt.Fprintf(w, "rejected: %d lines outside the event-time window (end_time 0, before start_time, beyond aggregation.max_future, or on a day past aggregation.max_age / retention); aggregation.dead_letter_log lists them with the reason; for old files pass --now\n", rejected)
	}
	if skipped > 0 {
		fmt.Fprintf(w, "over-long lines skipped: %d\n", skipped)
	}
	fmt.Fprintf(w, "took %s\n", took.Round(time.Millisecond))
}

// reduction formats how much smaller the output is than the input, as
// "92.5% (13.3x)".
func reduction(in, out int64) string {
	if in == 0 {
		return "-"
	}
	if out == 0 {
		return "100.0%"
	}
	return fmt.Sprintf("%.1f%% (%.1fx)", 100*(1-float64(out)/float64(in)), float64(in)/float64(out))
}
