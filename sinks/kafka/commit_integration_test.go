//go:build integration

package kafka

import (
	"testing"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// messagesTo returns n flow messages for topic partition 0.
func messagesTo(t *testing.T, brokers []string, n int) (topic string) {
	t.Helper()
	topic = uniqueTopics(t, brokers, 1, 0).Flows
	msgs := flowMessages(n, 0)
	for i := range msgs {
		msgs[i].Topic = topic
	}
	produce(t, brokers, msgs...)
	return topic
}

func TestKafkaReaderCommitsSoonAfterSettling(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	topic := messagesTo(t, brokers, 5)
	checkCommitsSoon(t, brokers, integrationReaderConfig(brokers, testenv.UniqueName(t, "group"), topic), topic)
}

func TestKafkaReaderLagCountsUnsettledRecords(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	topic := messagesTo(t, brokers, 10)
	checkLagFollowsSettled(t, brokers, integrationReaderConfig(brokers, testenv.UniqueName(t, "group"), topic), topic)
}
