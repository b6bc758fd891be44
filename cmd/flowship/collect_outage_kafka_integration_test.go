//go:build integration

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/schema/synth"
)

// TestCollectKafkaMetricsAnswerWhileBrokerDown (issue 13 #2): while Kafka
// is unreachable the writer's in-flight limit fills and the aggregator's
// hand-over to it blocks. /metrics used to hang then (the aggregator held
// its stream lock across the hand-over and the open-buckets gauge takes the
// same lock) — exactly the metrics the troubleshooting guide sends an
// operator to. On a Kafka broker of the test's own (services.sh, own ports
// and state, so the shared broker other packages use is never stopped):
// deliver a first part, stop the broker, append more windows, require that
// every /metrics request answers within a bound while the writer is seen
// blocked at its in-flight limit, start the broker again, and compare the
// topic with `flowship aggregate` of the whole file: nothing lost, nothing
// doubled.
func TestCollectKafkaMetricsAnswerWhileBrokerDown(t *testing.T) {
	testenv.KafkaBrokers(t) // skips without the services; with them the jars are in the cache
	node := startKafkaNode(t)
	bin := buildFlowship(t)
	dir := workDir(t)
	env := collectEnv(t, dir, node.brokers, filepath.Join(dir, "state", "bad-lines.jsonl"))
	listen := "127.0.0.1:" + freePort(t)
	conf := filepath.Join(dir, "outage.yaml")
	writeOutageConfig(t, conf, listen)

	g := synth.DefaultConfig()
	g.Seed = 1313
	g.FlowsPerWindow, g.Kinds = 300, []pipeline.Kind{pipeline.KindFlow}
	g.Start = time.Now().UTC().Truncate(time.Hour).Add(-6 * time.Hour)
	gen := synth.New(g)
	live := filepath.Join(dir, "flowlogs", "flows.log")
	appendWindows := func(n int) {
		f, err := os.OpenFile(live, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for range n {
			for _, l := range gen.Next(pipeline.KindFlow).Flows {
				if _, err := f.Write(l); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	appendWindows(2)

	c := startCollectorWith(t, bin, dir, env, conf)
	tr := &topicReader{brokers: node.brokers, topic: env["IT_TOPIC_FLOWS"], docs: map[string]any{}}
	positions := filepath.Join(dir, "state", "flows.positions.json")
	waitFor(t, 60*time.Second, "the first windows acknowledged", func() (bool, string, error) {
		report, done := drained(positions, []string{live})
		return done, report, nil
	})

	if _, err := node.services("down", "kafka"); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	t.Logf("broker stopped; appending 8 windows")
	appendWindows(8)

	// While the broker is down: every scrape answers within the bound, and
	// at least one shows the writer full (the aggregator blocked in its
	// Consume), for 10s after that was first seen.
	const bound = 5 * time.Second
	limit := regexp.MustCompile(`(?m)^flowship_kafka_inflight_batches(\{[^}]*\})? 2$`)
	var blockedAt time.Time
	scrapes := 0
	for blockedAt.IsZero() || time.Since(blockedAt) < 10*time.Second {
		if time.Since(down) > 90*time.Second {
			t.Fatalf("the writer never reached its in-flight limit in 90s of outage; the test did not exercise a blocked hand-over\n%s", tail(c.log, 20))
		}
		start := time.Now()
		code, body := httpGetWithin(t, "http://"+listen+"/metrics", bound)
		scrapes++
		if code != 200 || !strings.Contains(body, "flowship_aggregator_open_buckets") {
			t.Fatalf("/metrics %ds into the outage: status %d after %s, open-buckets gauge present: %v",
				int(time.Since(down).Seconds()), code, time.Since(start).Round(time.Millisecond), strings.Contains(body, "flowship_aggregator_open_buckets"))
		}
		if blockedAt.IsZero() && limit.MatchString(body) {
			blockedAt = time.Now()
			t.Logf("%s into the outage: writer at its in-flight limit; scraping on", time.Since(down).Round(100*time.Millisecond))
		}
		select {
		case <-c.exited:
			t.Fatalf("collector exited during the outage: %v\n%s", c.err, tail(c.log, 30))
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Logf("%d scrapes answered within %s during a %s outage", scrapes, bound, time.Since(down).Round(time.Second))

	if _, err := node.services("up", "kafka"); err != nil {
		t.Fatal(err)
	}
	want, _ := aggregateOfflineWith(t, bin, env, conf, []string{live})
	waitDelivered(t, c, tr, want, positions, []string{live})
	c.stop(t)
	tr.poll(t)
	t.Logf("kafka: %d messages, %d duplicates by id, %d documents; offline: %d documents", tr.messages, tr.duplicates, len(tr.docs), len(want))
	compareDocs(t, dir, tr.docs, want)
}

// writeOutageConfig writes the collector config of the outage test: the
// IT_* variables of collectEnv, /metrics on listen, and a writer that
// reaches its in-flight limit (2 batches of 50 documents) soon.
func writeOutageConfig(t *testing.T, path, listen string) {
	t.Helper()
	conf := fmt.Sprintf(`cluster: it-cluster
node: it-node-1
telemetry:
  listen: %q
  log_format: text
inputs:
  flows:
    enabled: true
    paths: ["${IT_DIR}/flowlogs/flows.log"]
    positions_file: ${IT_DIR}/state/flows.positions.json
    poll_interval: 100ms
    linger: 200ms
  l7:
    enabled: false
  dns:
    enabled: false
aggregation:
  window: 5m
  allowed_lateness: 1m
  idle_flush: 2s
  dead_letter_log: ${IT_DEAD_LETTER}
kafka:
  brokers: ["${IT_BOOTSTRAP_BROKER}"]
  topics:
    flows: ${IT_TOPIC_FLOWS}
    l7: ${IT_TOPIC_L7}
    dns: ${IT_TOPIC_DNS}
    dead_letter: ${IT_TOPIC_DLQ}
  dead_letter_log: ${IT_DIR}/state/kafka-dead-letter.jsonl
  batch_size: 50
  max_inflight_batches: 2
  write_timeout: 2s
`, listen)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startCollectorWith starts `flowship collect` with config conf.
func startCollectorWith(t *testing.T, bin, dir string, env map[string]string, conf string) *collector {
	t.Helper()
	cmd := exec.Command(bin, "collect", "--config", conf)
	cmd.Env = envList(env)
	return runCollector(t, cmd, filepath.Join(dir, "logs", "collect-outage.log"))
}

// aggregateOfflineWith is aggregateOffline with config conf.
func aggregateOfflineWith(t *testing.T, bin string, env map[string]string, conf string, files []string) (map[string]any, int64) {
	t.Helper()
	offline := map[string]string{}
	for k, v := range env {
		offline[k] = v
	}
	offline["IT_DEAD_LETTER"] = filepath.Join(env["IT_DIR"], "state", "offline-bad-lines.jsonl")
	copyConf := filepath.Join(env["IT_DIR"], "offline.yaml")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	// The offline run serves no metrics.
	b = regexp.MustCompile(`(?m)^  listen: .*$`).ReplaceAll(b, []byte(`  listen: ""`))
	if err := os.WriteFile(copyConf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"aggregate", "--config", copyConf}, files...)...)
	cmd.Env = envList(offline)
	return runOffline(t, cmd)
}

// httpGetWithin GETs url and fails t if no answer comes within bound.
func httpGetWithin(t *testing.T, url string, bound time.Duration) (int, string) {
	t.Helper()
	type answer struct {
		code int
		body string
	}
	ch := make(chan answer, 1)
	go func() {
		code, body := httpGet(url)
		ch <- answer{code, body}
	}()
	select {
	case a := <-ch:
		return a.code, a.body
	case <-time.After(bound):
		t.Fatalf("GET %s did not answer within %s", url, bound)
		return 0, ""
	}
}

// kafkaNode is a Kafka broker of one test's own, started with the
// repository's services.sh (same version and cache as the shared broker)
// on free ports and in a state directory of its own, so the test can stop
// and restart it without disturbing the shared broker.
type kafkaNode struct {
	brokers []string
	servicesNode
}

func startKafkaNode(t *testing.T) *kafkaNode {
	t.Helper()
	state, err := os.MkdirTemp("", "flowship-kafka-node-")
	if err != nil {
		t.Fatal(err)
	}
	port, ctrl := freePort(t), freePort(t)
	mine := []string{"FLOWSHIP_STATE_DIR=", "FLOWSHIP_KAFKA_PORT=", "FLOWSHIP_KAFKA_CONTROLLER_PORT=", "FLOWSHIP_KAFKA_HEAP=", "FLOWSHIP_KAFKA_VERSION="}
	n := &kafkaNode{brokers: []string{"127.0.0.1:" + port}, servicesNode: newServicesNode(t, state, mine,
		"FLOWSHIP_STATE_DIR="+state, "FLOWSHIP_KAFKA_PORT="+port, "FLOWSHIP_KAFKA_CONTROLLER_PORT="+ctrl, "FLOWSHIP_KAFKA_HEAP=256m")}
	if v := testenv.KafkaVersion(); v != "" {
		n.env = append(n.env, "FLOWSHIP_KAFKA_VERSION="+v)
	}
	took := n.start(t, "kafka", "Kafka broker", state)
	t.Logf("own Kafka %s broker on %s started in %s", testenv.KafkaVersion(), n.brokers[0], took.Round(100*time.Millisecond))
	return n
}
