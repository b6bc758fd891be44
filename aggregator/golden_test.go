package aggregator

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCase is testdata/<case>/config.yaml: the kind of input.jsonl and
// the aggregator config (over DefaultConfig).
type goldenCase struct {
	Kind       pipeline.Kind `yaml:"kind"`
	Aggregator Config        `yaml:"aggregator"`
}

func loadCase(t testing.TB, dir string) goldenCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := goldenCase{Kind: pipeline.KindFlow, Aggregator: DefaultConfig()}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s/config.yaml: %v", dir, err)
	}
	return c
}

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(raw, []byte("\n")) {
		if len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// runLines feeds lines in batches of batchSize, flushes at the end, and
// returns the documents; it fails the test unless every input Ack fired
// once with nil.
func runLines(t testing.TB, cfg Config, kind pipeline.Kind, lines [][]byte, batchSize int) []pipeline.Record {
	t.Helper()
	sink := &pipelinetest.Sink{}
	a, err := New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	var acked, failed atomic.Int64
	batches := 0
	ctx := context.Background()
	off := int64(0)
	for i := 0; i < len(lines); i += batchSize {
		var recs []pipeline.Record
		for j := i; j < len(lines) && j < i+batchSize; j++ {
			recs = append(recs, pipeline.Record{Kind: kind, Value: lines[j], Source: "input.jsonl", Offset: off, Line: int64(j + 1)})
			off += int64(len(lines[j]) + 1)
		}
		batches++
		ack := func(err error) {
			if err != nil {
				failed.Add(1)
			}
			acked.Add(1)
		}
		if err := a.Consume(ctx, pipeline.Batch{Records: recs, Ack: ack}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if acked.Load() != int64(batches) || failed.Load() != 0 {
		t.Fatalf("input acks: %d of %d called, %d failed", acked.Load(), batches, failed.Load())
	}
	return sink.Records()
}

func encodeDocs(recs []pipeline.Record) []byte {
	var b bytes.Buffer
	for _, r := range recs {
		b.Write(r.Value)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/config.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, cfgPath := range dirs {
		dir := filepath.Dir(cfgPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := loadCase(t, dir)
			lines := readLines(t, filepath.Join(dir, "input.jsonl"))
			got := encodeDocs(runLines(t, c.Aggregator, c.Kind, lines, len(lines)))
			// Batch boundaries must not change the result.
			if one := encodeDocs(runLines(t, c.Aggregator, c.Kind, lines, 1)); !bytes.Equal(one, got) {
				t.Errorf("one line per batch gives other documents:\n%s\nvs all in one batch:\n%s", one, got)
			}
			wantPath := filepath.Join(dir, "want.jsonl")
			if *update {
				if err := os.WriteFile(wantPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("documents differ from %s (run with -update after checking):\ngot:\n%s\nwant:\n%s",
					wantPath, got, want)
			}
		})
	}
}
