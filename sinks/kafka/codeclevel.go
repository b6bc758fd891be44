package kafka

import (
	stdgzip "compress/gzip"
	"fmt"
	"sync"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/compress/gzip"
)

// Compression levels (kafka.compression_level).
const (
	LevelFastest = "fastest"
	LevelDefault = "default"
	LevelBetter  = "better"
	LevelBest    = "best"
)

// codecLevels maps a level name to the zstd and gzip levels behind it.
// zstd levels are the reference library's, which klauspost/compress maps
// to its four encoders: 1 SpeedFastest, 3 SpeedDefault, 7
// SpeedBetterCompression, 11 SpeedBestCompression.
var codecLevels = map[string]struct{ zstd, gzip int }{
	LevelFastest: {1, stdgzip.BestSpeed},
	LevelDefault: {3, stdgzip.DefaultCompression},
	LevelBetter:  {7, 7},
	LevelBest:    {11, stdgzip.BestCompression},
}

func validCompressionLevel(p, level string) error {
	if _, ok := codecLevels[level]; !ok {
		return fmt.Errorf("%scompression_level: %q is not supported; use fastest, default, better or best", p, level)
	}
	return nil
}

var (
	codecMu        sync.Mutex
	installedLevel = map[kafkago.Compression]string{kafkago.Gzip: LevelDefault, kafkago.Zstd: LevelDefault}
)

// init installs flowship's zstd codec at the default level before any
// goroutine can read the table, so a process that keeps the default
// never writes the table later.
func init() {
	compress.Codecs[compress.Zstd] = newZstdCodec(codecLevels[LevelDefault].zstd)
}

// installCodecLevel puts a codec with the configured level into
// kafka-go's codec table (for zstd, flowship's cheaper codec, see
// zstdCodec). kafka-go picks a batch's codec from the
// process-wide table compress.Codecs by algorithm (a Writer has no codec
// of its own), so the level is process-wide too: the last writer built
// wins. flowship runs one kafka writer configuration per process
// (collect), so that is the configured level; readers only decompress,
// which every level's codec does alike. The table is written only when
// the level changes, before the writer's first batch.
func installCodecLevel(algo, level string) {
	c := codecs[algo]
	lv, ok := codecLevels[level]
	if !ok || (c != kafkago.Zstd && c != kafkago.Gzip) {
		return // snappy, lz4 and none have no level
	}
	codecMu.Lock()
	defer codecMu.Unlock()
	if installedLevel[c] == level {
		return
	}
	switch c {
	case kafkago.Zstd:
		compress.Codecs[compress.Zstd] = newZstdCodec(lv.zstd)
	case kafkago.Gzip:
		compress.Codecs[compress.Gzip] = &gzip.Codec{Level: lv.gzip}
	}
	installedLevel[c] = level
}
