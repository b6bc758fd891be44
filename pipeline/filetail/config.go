package filetail

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// StartAt says where to begin reading a file that is present when the
// tailer starts and has no saved position.
type StartAt string

// StartAt values.
const (
	// StartBeginning reads files from their first byte (fluentd's
	// read_from_head true, which Calico used).
	StartBeginning StartAt = "beginning"
	// StartEnd skips what the files already hold.
	StartEnd StartAt = "end"
)

// Config configures one input: the files of one kind. Zero-valued
// kind-dependent fields (Paths, PositionsFile) take the defaults of Kind
// when the Tailer is built; see Resolved.
type Config struct {
	// Kind of the lines in these files (flows, l7, dns). Default flows.
	Kind pipeline.Kind `yaml:"kind"`
	// Paths are glob patterns (filepath.Match syntax). A pattern without
	// glob characters names a live file, the one the writer appends to;
	// the fluentd pos file describes those. Default for flows:
	// /var/log/calico/flowlogs/flows.log and .../flows-*.log (lumberjack's
	// rotated names); l7 and dns likewise under l7logs/ and dnslogs/.
	Paths []string `yaml:"paths"`
	// StartAt is where to begin in files present at start that have no
	// saved position: "beginning" (default) or "end". Files that appear
	// later are always read from their first byte.
	StartAt StartAt `yaml:"start_at"`
	// MaxLineSize is the longest line accepted, without its newline.
	// A longer line is skipped whole, counted as a bad line and logged;
	// the lines around it are not affected. Default 1MiB (a Felix flow
	// line is about 1KiB).
	MaxLineSize pipeline.ByteSize `yaml:"max_line_size"`
	// BatchLines is the most lines in one Batch. Default 1000.
	BatchLines int `yaml:"batch_lines"`
	// BatchBytes is the most line bytes in one Batch (a single line may
	// exceed it). Default 1MiB.
	BatchBytes pipeline.ByteSize `yaml:"batch_bytes"`
	// Linger is how long a partly filled batch waits for more lines once
	// the files are read to their end. Default 500ms.
	Linger time.Duration `yaml:"linger"`
	// MaxInflightBatches bounds the batches handed on and not yet
	// acknowledged; reading stops while it is reached. The tailer keeps
	// no line of a batch once the next stage's Consume has returned, and
	// the aggregator keeps none either (it merges and copies what it
	// needs), so in the collector an unacknowledged batch costs about 200
	// bytes of bookkeeping; line memory is bounded by BatchBytes and the
	// blocking Consume. The aggregator acknowledges input only when its
	// bucket is delivered, so this must cover every batch of one window
	// plus allowed_lateness, or reading waits for an idle flush and
	// buckets are split. Default 8192.
	MaxInflightBatches int `yaml:"max_inflight_batches"`
	// PositionsFile is where acknowledged offsets (and the aggregator's
	// state) are kept. Default /var/log/calico/flowship/<kind>.positions.json.
	PositionsFile string `yaml:"positions_file"`
	// PositionsInterval is how often the positions file is written when
	// something changed. It is always written at shutdown. Default 1s.
	PositionsInterval time.Duration `yaml:"positions_interval"`
	// FluentdPosFile, when set, is also written on every positions write
	// in fluentd in_tail format (path, offset, inode) for the live files,
	// so Felix dynamic aggregation (flowLogsPositionFilePath, default
	// /var/log/calico/flows.log.pos) sees how far behind we are. Default
	// empty (off).
	FluentdPosFile string `yaml:"fluentd_pos_file"`
	// ImportFluentdPos, when set and no positions file of our own exists
	// yet, is a fluentd in_tail pos file whose offsets are used as the
	// starting points, so switching from fluentd reads no line twice and
	// skips none. Default empty (off).
	ImportFluentdPos string `yaml:"import_fluentd_pos"`
	// PollInterval is how often the files are checked for growth,
	// rotation and truncation. Default 250ms.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxOpenFiles bounds the files held open. A file is kept open from
	// discovery until it is read to its end, so a rotated file deleted
	// before we finish it can still be read; a file found beyond the
	// limit waits for a free slot. Default 32.
	MaxOpenFiles int `yaml:"max_open_files"`
	// DrainTimeout is how long Run waits at shutdown for the batches in
	// flight to be acknowledged before writing the positions file the
	// last time. Default 5s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// DefaultConfig returns the defaults for a flows input; set Kind for
// another kind (Paths and PositionsFile follow the kind when left empty).
func DefaultConfig() Config {
	return Config{
		Kind:               pipeline.KindFlow,
		StartAt:            StartBeginning,
		MaxLineSize:        1 << 20,
		BatchLines:         1000,
		BatchBytes:         1 << 20,
		Linger:             500 * time.Millisecond,
		MaxInflightBatches: 8192,
		PositionsInterval:  time.Second,
		PollInterval:       250 * time.Millisecond,
		MaxOpenFiles:       32,
		DrainTimeout:       5 * time.Second,
	}
}

// DefaultDir is where Felix writes its logs (spec §1.1).
const DefaultDir = "/var/log/calico"

// DefaultPaths returns the live file and lumberjack's rotated names for
// kind under DefaultDir.
func DefaultPaths(kind pipeline.Kind) []string {
	switch kind {
	case pipeline.KindL7:
		return []string{DefaultDir + "/l7logs/l7.log", DefaultDir + "/l7logs/l7-*.log"}
	case pipeline.KindDNS:
		return []string{DefaultDir + "/dnslogs/dns.log", DefaultDir + "/dnslogs/dns-*.log"}
	default:
		return []string{DefaultDir + "/flowlogs/flows.log", DefaultDir + "/flowlogs/flows-*.log"}
	}
}

// DefaultPositionsFile returns the default positions file for kind.
func DefaultPositionsFile(kind pipeline.Kind) string {
	return DefaultDir + "/flowship/" + string(kind) + ".positions.json"
}

// Resolved returns c with the kind-dependent defaults filled in.
func (c Config) Resolved() Config {
	if c.Kind == "" {
		c.Kind = pipeline.KindFlow
	}
	if len(c.Paths) == 0 {
		c.Paths = DefaultPaths(c.Kind)
	}
	if c.PositionsFile == "" {
		c.PositionsFile = DefaultPositionsFile(c.Kind)
	}
	if c.StartAt == "" {
		c.StartAt = StartBeginning
	}
	return c
}

// Validate reports every invalid field, naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, msg string, args ...any) {
		errs = append(errs, fmt.Errorf("filetail.%s: "+msg, append([]any{key}, args...)...))
	}
	if c.Kind != "" && !c.Kind.Valid() {
		bad("kind", "%q is not one of flows, l7, dns", c.Kind)
	}
	for _, p := range c.Paths {
		if _, err := filepath.Match(p, ""); err != nil || p == "" || !filepath.IsAbs(p) {
			bad("paths", "%q must be an absolute path or glob pattern", p)
		}
	}
	if c.StartAt != "" && c.StartAt != StartBeginning && c.StartAt != StartEnd {
		bad("start_at", "%q must be beginning or end", c.StartAt)
	}
	if c.MaxLineSize < 64 || c.MaxLineSize > 1<<30 {
		bad("max_line_size", "%v must be between 64B and 1GiB", c.MaxLineSize)
	}
	if c.BatchLines < 1 {
		bad("batch_lines", "%d must be at least 1", c.BatchLines)
	}
	if c.BatchBytes < 1 {
		bad("batch_bytes", "%v must be at least 1B", c.BatchBytes)
	}
	if c.Linger < 0 {
		bad("linger", "%v must not be negative", c.Linger)
	}
	if c.MaxInflightBatches < 1 {
		bad("max_inflight_batches", "%d must be at least 1", c.MaxInflightBatches)
	}
	if c.PositionsInterval <= 0 {
		bad("positions_interval", "%v must be positive", c.PositionsInterval)
	}
	if c.PollInterval <= 0 {
		bad("poll_interval", "%v must be positive", c.PollInterval)
	}
	if c.MaxOpenFiles < 1 {
		bad("max_open_files", "%d must be at least 1", c.MaxOpenFiles)
	}
	if c.DrainTimeout < 0 {
		bad("drain_timeout", "%v must not be negative", c.DrainTimeout)
	}
	if c.PositionsFile != "" && c.PositionsFile == c.FluentdPosFile {
		bad("fluentd_pos_file", "must differ from positions_file %q", c.PositionsFile)
	}
	return errors.Join(errs...)
}

// isLivePattern reports whether p names one file rather than a glob.
func isLivePattern(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*', '?', '[', '\\':
			return false
		}
	}
	return true
}
