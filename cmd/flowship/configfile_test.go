package main

import (
	"strings"
	"testing"
	"time"
)

type testSection struct {
	Brokers []string      `yaml:"brokers"`
	Linger  time.Duration `yaml:"linger"`
}

type testConfig struct {
	Cluster string      `yaml:"cluster"`
	Node    string      `yaml:"node"`
	Kafka   testSection `yaml:"kafka"`
}

func TestDecodeConfig(t *testing.T) {
	t.Setenv("FLOWSHIP_TEST_NODE", "node-7")
	tests := []struct {
		name    string
		src     string
		want    testConfig
		wantErr string
	}{
		{"env and defaults kept", "node: ${FLOWSHIP_TEST_NODE}\nkafka:\n  linger: 250ms\n",
			testConfig{Cluster: "default", Node: "node-7", Kafka: testSection{Linger: 250 * time.Millisecond}}, ""},
		{"env default", "node: ${FLOWSHIP_TEST_UNSET:-fallback}\n",
			testConfig{Cluster: "default", Node: "fallback"}, ""},
		{"empty unquoted expansion keeps the default", "cluster: ${FLOWSHIP_TEST_UNSET:-}\n",
			testConfig{Cluster: "default"}, ""},
		{"empty quoted expansion is an empty string", "cluster: \"${FLOWSHIP_TEST_UNSET:-}\"\n",
			testConfig{Cluster: ""}, ""},
		{"unset env", "node: ${FLOWSHIP_TEST_UNSET}\n", testConfig{}, "line 1: environment variable FLOWSHIP_TEST_UNSET is not set"},
		{"unknown key named", "cluster: a\nkafka:\n  brokerz: [x]\n", testConfig{}, "line 3: unknown key brokerz"},
		{"bad duration", "kafka:\n  linger: soon\n", testConfig{}, "line 2"},
		{"empty file", "", testConfig{Cluster: "default"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := testConfig{Cluster: "default"}
			err := decodeConfig("test.yaml", []byte(tc.src), &got)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "test.yaml") {
					t.Fatalf("error = %v, want it to contain %q and the file name", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Cluster != tc.want.Cluster || got.Node != tc.want.Node || got.Kafka.Linger != tc.want.Kafka.Linger {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
