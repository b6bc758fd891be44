//go:build integration

package kafka

import (
	"testing"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// Two writers with different zstd levels in one process, on the real
// broker: each batch is stored at its writer's level.
func TestKafkaWritersWithDifferentCompressionLevels(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	checkTwoLevels(t, brokers, [2]Topics{uniqueTopics(t, brokers, 1, 0), uniqueTopics(t, brokers, 1, 0)})
}
