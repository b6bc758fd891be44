//go:build integration

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// esNode is an Elasticsearch node of one test's own, started with the
// repository's services.sh (same version, distribution and credentials as
// the shared node) on a free port and in a state directory of its own, so
// the test can stop it, restart it or run it with a tiny write queue
// without disturbing the shared node other tests (and packages) use.
type esNode struct {
	ES    testenv.ES
	state string
	servicesNode
}

// servicesNode runs the repository's services.sh with an environment of
// its own (a state directory and ports of one test's own): the test's
// Elasticsearch node and Kafka broker.
type servicesNode struct {
	env     []string
	script  string
	logFile string
}

// newServicesNode locates services.sh and builds its environment: this
// process's, less the variables named by the prefixes of mine, plus own.
// services.sh logs to state/services.log.
func newServicesNode(t *testing.T, state string, mine []string, own ...string) servicesNode {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "deploy", "local", "services.sh"))
	if err != nil {
		t.Fatal(err)
	}
	n := servicesNode{script: script, logFile: filepath.Join(state, "services.log")}
	for _, kv := range os.Environ() {
		if !slices.ContainsFunc(mine, func(p string) bool { return strings.HasPrefix(kv, p) }) {
			n.env = append(n.env, kv)
		}
	}
	n.env = append(n.env, own...)
	return n
}

// startESNode starts a node; writeQueue, when not empty, is the
// FLOWSHIP_ES_WRITE_QUEUE mode (write thread pool of 1 thread and a queue
// of that many requests). The node is stopped and its files removed when
// the test ends.
func startESNode(t *testing.T, writeQueue string) *esNode {
	t.Helper()
	shared := testenv.Elasticsearch(t) // the services exist: Java and the distribution are here
	// Not t.TempDir: Elasticsearch runs as an unprivileged user that must
	// reach its directory, and t.TempDir's parent is private.
	state, err := os.MkdirTemp("", "flowship-e2e-es-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	n := &esNode{state: state}
	n.ES = testenv.ES{URL: "http://127.0.0.1:" + port, Username: shared.Username, Password: shared.Password}
	security := "on"
	if shared.Username == "" {
		security = "off"
	}
	// Version, cache, Java and OS user stay as the shared node's.
	mine := []string{"FLOWSHIP_STATE_DIR=", "FLOWSHIP_ES_PORT=", "FLOWSHIP_ES_HEAP=", "FLOWSHIP_ES_SECURITY=",
		"FLOWSHIP_ES_USER=", "FLOWSHIP_ES_PASSWORD=", "FLOWSHIP_ES_WRITE_QUEUE="}
	n.servicesNode = newServicesNode(t, state, mine, "FLOWSHIP_STATE_DIR="+state, "FLOWSHIP_ES_PORT="+port, "FLOWSHIP_ES_HEAP=512m",
		"FLOWSHIP_ES_SECURITY="+security, "FLOWSHIP_ES_USER="+shared.Username, "FLOWSHIP_ES_PASSWORD="+shared.Password)
	if writeQueue != "" {
		n.env = append(n.env, "FLOWSHIP_ES_WRITE_QUEUE="+writeQueue)
	}
	took := n.start(t, "es", "Elasticsearch node", state)
	run, _ := os.ReadFile(filepath.Join(state, "es.rundir"))
	if !strings.HasPrefix(strings.TrimSpace(string(run)), state) {
		t.Fatalf("the node runs in %s, outside its state directory %s; services.sh could not give the Elasticsearch user access", run, state)
	}
	t.Logf("own Elasticsearch node on %s (write queue %q) started in %s", n.ES.URL, writeQueue, took.Round(100*time.Millisecond))
	return n
}

// start runs `services.sh up service` (what names it in errors) and, when
// the test ends, `down` and removes state; it returns how long up took.
func (n *servicesNode) start(t *testing.T, service, what, state string) time.Duration {
	t.Helper()
	t.Cleanup(func() {
		if _, err := n.services("down", service); err != nil {
			t.Errorf("stopping the test's %s: %v", what, err)
			return
		}
		_ = os.RemoveAll(state)
	})
	took, err := n.services("up", service)
	if err != nil {
		t.Fatalf("starting a %s of the test's own: %v", what, err)
	}
	return took
}

// services runs services.sh for the node and returns how long it took.
func (n *servicesNode) services(args ...string) (time.Duration, error) {
	f, err := os.OpenFile(n.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cmd := exec.Command("bash", append([]string{n.script}, args...)...)
	cmd.Env, cmd.Stdout, cmd.Stderr = n.env, f, f
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("services.sh %s: %w\n%s", strings.Join(args, " "), err, tail(n.logFile, 20))
	}
	return time.Since(start), nil
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
