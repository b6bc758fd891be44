package kafka

import (
	"reflect"
	"strings"
	"testing"
)

func TestTopicSetupDefaultsEqualDefaultSpecs(t *testing.T) {
	got := DefaultTopicSetup().Specs(DefaultTopics())
	if want := DefaultTopicSpecs(DefaultTopics()); !reflect.DeepEqual(got, want) {
		t.Fatalf("DefaultTopicSetup().Specs = %+v\nwant DefaultTopicSpecs = %+v", got, want)
	}
}

func TestTopicSetupValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*TopicSetup)
		want   string
	}{
		{"defaults", func(*TopicSetup) {}, ""},
		{"zero partitions", func(s *TopicSetup) { s.Partitions = 0 }, "topic_setup.partitions"},
		{"zero replication", func(s *TopicSetup) { s.ReplicationFactor = 0 }, "topic_setup.replication_factor"},
		{"bad codec", func(s *TopicSetup) { s.CompressionType = "brotli" }, "topic_setup.compression_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultTopicSetup()
			tc.mutate(&s)
			err := s.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want error naming %q", err, tc.want)
			}
		})
	}
}
