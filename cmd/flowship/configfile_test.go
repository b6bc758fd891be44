package main

import (
	"os"
	"slices"
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

// TestEnvValueCannotChangeStructure: a variable's value is data. Whatever
// YAML syntax it holds, it lands in the one scalar that referenced it and
// never adds keys, lists or documents.
func TestEnvValueCannotChangeStructure(t *testing.T) {
	tests := []struct {
		name, value string
	}{
		{"mapping syntax", "a: b\nc: d"},
		{"a key of the config", "x\nkafka:\n  linger: 1s"},
		{"flow sequence", "[x]"},
		{"flow mapping", "{kafka: {linger: 1s}}"},
		{"comment", "node-1 # not a comment"},
		{"document end", "x\n---\ncluster: y"},
		{"anchor and alias", "&a x"},
		{"quote", `"quoted`},
		{"number", "9200"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := testConfig{Cluster: "default"}
			lookup := func(string) (string, bool) { return tc.value, true }
			err := decodeConfigEnv("test.yaml", []byte("node: ${V}\ncluster: c\n"), lookup, &got)
			if err != nil {
				t.Fatal(err)
			}
			if got.Node != tc.value || got.Cluster != "c" || got.Kafka.Linger != 0 {
				t.Fatalf("got %+v, want node %q, cluster c and nothing else", got, tc.value)
			}
		})
	}
}

func TestEnvExpandsValuesOnly(t *testing.T) {
	env := map[string]string{"BROKER": "k1:9092", "LINGER": "250ms", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name, src string
		want      testConfig
		wantErr   string
	}{
		{"quoted in a flow sequence", "kafka:\n  brokers: [\"${BROKER}\", '${UNSET:-x}']\n",
			testConfig{Cluster: "default", Kafka: testSection{Brokers: []string{"k1:9092", "x"}}}, ""},
		{"unquoted in a flow sequence: YAML syntax error with a hint", "cluster: x\nkafka:\n  brokers: [${BROKER}]\n", testConfig{},
			`did not find expected ',' or ']' (a ${NAME} inside [ ] or { } must be quoted: ["${NAME}"])`},
		{"in a block sequence", "kafka:\n  brokers:\n    - ${BROKER}\n    - b:${UNSET:-1}\n",
			testConfig{Cluster: "default", Kafka: testSection{Brokers: []string{"k1:9092", "b:1"}}}, ""},
		{"typed value resolves after expansion", "kafka:\n  linger: ${LINGER}\n",
			testConfig{Cluster: "default", Kafka: testSection{Linger: 250 * time.Millisecond}}, ""},
		{"empty expansion keeps the default", "cluster: ${EMPTY:-}\n", testConfig{Cluster: "default"}, ""},
		{"set but empty is unset, as in a shell", "cluster: ${EMPTY}\n", testConfig{}, "line 1: environment variable EMPTY is not set"},
		{"single-quoted empty expansion is an empty string", "cluster: '${EMPTY:-}'\n", testConfig{}, ""},
		{"comments are not expanded", "# ${UNSET}\ncluster: x # ${UNSET}\n", testConfig{Cluster: "x"}, ""},
		{"unset variable names its line", "cluster: x\n\nnode: |\n  a ${UNSET}\n", testConfig{}, "line 3: environment variable UNSET is not set"},
		{"every unset variable reported", "cluster: ${U1}\nnode: ${U2}\n", testConfig{}, "line 2: environment variable U2"},
		{"keys are not expanded", "${BROKER}: x\n", testConfig{}, "line 1: unknown key ${BROKER}"},
		{"unknown key after an expanded value", "kafka:\n  linger: ${LINGER}\n  lingr: 1s\n", testConfig{}, "line 3: unknown key lingr"},
		{"type error names the line", "cluster: x\nkafka:\n  linger: ${BROKER}\n", testConfig{}, "line 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := testConfig{Cluster: "default"}
			err := decodeConfigEnv("test.yaml", []byte(tc.src), lookup, &got)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "test.yaml") {
					t.Fatalf("error = %v, want it to contain %q and the file name", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Cluster != tc.want.Cluster || got.Node != tc.want.Node || got.Kafka.Linger != tc.want.Kafka.Linger ||
				!slices.Equal(got.Kafka.Brokers, tc.want.Kafka.Brokers) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestConfigUnknownKeys: the strict check follows yaml's field rules on
// the real Config, through its inline sections and env-expanded values.
func TestConfigUnknownKeys(t *testing.T) {
	src := `cluster: c
inputs:
  flows:
    paths: ["${NOPE:-/x/flows.log}"]
    pathz: [a]
kafka:
  brokers: [k:9092]
  brokerz: [k:9092]
  sasl:
    mechanizm: plain
index:
  elasticsearch:
    urls: [http://es:9200]
  require_templates: ${NOPE:-true}
aggregation:
  levels:
    allowed: 2
`
	cfg := DefaultConfig()
	err := decodeConfigEnv("f.yaml", []byte(src), func(string) (string, bool) { return "", false }, &cfg)
	want := "config f.yaml: line 5: unknown key pathz; line 8: unknown key brokerz; line 10: unknown key mechanizm"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
	if got := cfg.Inputs.Flows.Paths; !slices.Equal(got, []string{"/x/flows.log"}) {
		t.Errorf("inputs.flows.paths = %q", got)
	}
	if !cfg.Index.RequireTemplates || cfg.Aggregation.Levels.Allowed != 2 {
		t.Errorf("values not decoded: %+v", cfg.Index)
	}
}

// FuzzEnvExpansion: whatever a variable holds, the one scalar that
// references it gets exactly that text (or, unquoted and null-like, keeps
// its default) and nothing else in the file changes; and no input, file or
// value, makes decoding panic.
func FuzzEnvExpansion(f *testing.F) {
	f.Add("a: b\nc: d", []byte("node: ${V}\n"))
	f.Add("[x]", []byte("kafka:\n  brokers: [\"${V}\"]\n"))
	f.Add("~", []byte("cluster: ${V:-x}\n"))
	f.Add("${V}", []byte("node: '${V}${V}'\n"))
	f.Add("x", []byte("a: &a {k: ${V}}\nb: *a\n"))
	f.Fuzz(func(t *testing.T, value string, src []byte) {
		lookup := func(k string) (string, bool) { return value, k == "V" }
		var any testConfig
		_ = decodeConfigEnv("fuzz.yaml", src, lookup, &any)
		if value == "" {
			return
		}
		for _, quoted := range []bool{false, true} {
			doc := "cluster: c\nnode: ${V}\nkafka:\n  linger: 1s\n"
			if quoted {
				doc = "cluster: c\nnode: \"${V}\"\nkafka:\n  linger: 1s\n"
			}
			got := testConfig{Node: "default"}
			if err := decodeConfigEnv("fuzz.yaml", []byte(doc), lookup, &got); err != nil {
				t.Fatalf("quoted=%v value %q: %v", quoted, value, err)
			}
			want := value
			if !quoted && slices.Contains([]string{"~", "null", "Null", "NULL"}, value) {
				want = "default"
			}
			if got.Node != want || got.Cluster != "c" || got.Kafka.Linger != time.Second || got.Kafka.Brokers != nil {
				t.Fatalf("quoted=%v value %q: got %+v", quoted, value, got)
			}
		}
	})
}

// TestTestdataConfigsDecode: the integration tests' config files decode
// with values in every ${IT_*} reference (they run only with real
// services; this catches a syntax slip without them).
func TestTestdataConfigsDecode(t *testing.T) {
	for _, path := range []string{"testdata/collect/collect.yaml", "testdata/e2e/flowship.yaml"} {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Only the variables the tests always set; the others keep
		// their defaults.
		always := []string{"IT_DIR", "IT_BOOTSTRAP_BROKER", "IT_CLUSTER", "IT_GROUP", "IT_ES_URL", "IT_DEAD_LETTER",
			"IT_TOPIC_FLOWS", "IT_TOPIC_L7", "IT_TOPIC_DNS", "IT_TOPIC_DLQ"}
		lookup := func(k string) (string, bool) { return "it-" + strings.ToLower(k), slices.Contains(always, k) }
		cfg := DefaultConfig()
		if err := decodeConfigEnv(path, src, lookup, &cfg); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cfg.Kafka.Brokers, []string{"it-it_bootstrap_broker"}) {
			t.Errorf("%s: kafka.brokers = %q", path, cfg.Kafka.Brokers)
		}
		if p := cfg.Inputs.Flows.Paths; len(p) == 0 || !strings.HasPrefix(p[0], "it-it_dir/flowlogs/") {
			t.Errorf("%s: inputs.flows.paths = %q", path, p)
		}
	}
}
