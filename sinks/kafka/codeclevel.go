package kafka

import (
	stdgzip "compress/gzip"
	"fmt"

	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/compress/gzip"
	"github.com/segmentio/kafka-go/compress/lz4"
	"github.com/segmentio/kafka-go/compress/snappy"
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

// writerCodec returns the codec a Writer compresses its batches with: its
// own instance at the configured level (for zstd, flowship's cheaper
// codec, see zstdCodec), or nil for "none". kafka-go would take the codec
// from its process-wide table compress.Codecs, which holds one codec per
// algorithm; the Writer compresses record sets itself instead (see
// compressingTransport), so writers with different levels coexist and
// kafka-go's table is never written. Readers decompress with kafka-go's
// own codecs, which read every level alike.
func writerCodec(algo, level string) compress.Codec {
	lv := codecLevels[level]
	switch algo {
	case "zstd":
		return newZstdCodec(lv.zstd)
	case "gzip":
		return &gzip.Codec{Level: lv.gzip}
	case "snappy":
		return &snappy.Codec{}
	case "lz4":
		return &lz4.Codec{}
	}
	return nil
}
