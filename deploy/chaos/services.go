package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// services drives deploy/local/services.sh: the 3-node Kafka cluster and
// Elasticsearch the campaign runs on, and the broker and Elasticsearch
// faults. Every call inherits the FLOWSHIP_* environment (ports, state
// and cache dirs) of the campaign.
type services struct {
	script string
	logw   *os.File // services.sh output goes here
	nodes  int
	// What this campaign started, so it stops only that.
	startedKafka, startedES bool
	esWasRunning            bool
}

func newServices(root string, nodes int, logPath string) (*services, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &services{script: filepath.Join(root, "deploy", "local", "services.sh"), logw: f, nodes: nodes}, nil
}

// run runs services.sh with args and extra environment; its output goes
// to the services log, and the last lines of it into the error.
func (s *services) run(ctx context.Context, extraEnv []string, args ...string) error {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", append([]string{s.script}, args...)...)
	cmd.Env = append(append(os.Environ(), "FLOWSHIP_KAFKA_NODES="+fmt.Sprint(s.nodes)), extraEnv...)
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	fmt.Fprintf(s.logw, "=== %s services.sh %s %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(extraEnv, " "), strings.Join(args, " "))
	err := cmd.Run()
	_, _ = s.logw.Write(buf.Bytes())
	if err != nil {
		return fmt.Errorf("services.sh %s: %w\n%s", strings.Join(args, " "), err, lastLines(buf.String(), 15))
	}
	return nil
}

func (s *services) output(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{s.script}, args...)...)
	cmd.Env = append(os.Environ(), "FLOWSHIP_KAFKA_NODES="+fmt.Sprint(s.nodes))
	out, err := cmd.Output()
	return string(out), err
}

// up starts the Kafka cluster and Elasticsearch unless they run already;
// a single-node Kafka on the same ports is refused by services.sh.
func (s *services) up(ctx context.Context) error {
	st, _ := s.output(ctx, "status")
	kafkaRunning := strings.Contains(st, "kafka node 1: running")
	s.esWasRunning = strings.Contains(st, "es: running")
	if !kafkaRunning {
		s.startedKafka = true
	}
	if err := s.run(ctx, nil, "up", "kafka"); err != nil {
		return err
	}
	if !s.esWasRunning {
		s.startedES = true
	} else if !strings.Contains(st, "write_queue=default") {
		// Left in 429 mode by an earlier run: back to the default.
		if err := s.esRestart(ctx, ""); err != nil {
			return err
		}
	}
	return s.run(ctx, nil, "up", "es")
}

// env returns the variables `services.sh env` exports.
func (s *services) env(ctx context.Context) (map[string]string, error) {
	out, err := s.output(ctx, "env")
	if err != nil {
		return nil, fmt.Errorf("services.sh env: %w", err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok {
			m[k] = v
		}
	}
	return m, nil
}

func (s *services) killBroker(ctx context.Context, id int) error {
	return s.run(ctx, nil, "kafka-node", "kill", fmt.Sprint(id))
}

func (s *services) startBroker(ctx context.Context, id int) error {
	return s.run(ctx, nil, "kafka-node", "start", fmt.Sprint(id))
}

func (s *services) esDown(ctx context.Context) error { return s.run(ctx, nil, "down", "es") }

// esUp starts Elasticsearch, with a write queue of queue when it is not
// empty (the 429 storm), and waits until it is healthy.
func (s *services) esUp(ctx context.Context, queue string) error {
	return s.run(ctx, []string{"FLOWSHIP_ES_WRITE_QUEUE=" + queue}, "up", "es")
}

func (s *services) esRestart(ctx context.Context, queue string) error {
	if err := s.esDown(ctx); err != nil {
		return err
	}
	return s.esUp(ctx, queue)
}

// down stops what up started; Elasticsearch that ran before is left
// running in its default mode. It uses a fresh context: it runs on the way
// out, also after an interrupt.
func (s *services) down() []error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var errs []error
	if s.startedKafka {
		if err := s.run(ctx, nil, "down", "kafka"); err != nil {
			errs = append(errs, err)
		}
	} else {
		// Restart any broker a fault left down, so the cluster is as we found it.
		for i := 1; i <= s.nodes; i++ {
			if err := s.startBroker(ctx, i); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if s.startedES {
		if err := s.esDown(ctx); err != nil {
			errs = append(errs, err)
		}
	} else if s.esWasRunning {
		st, _ := s.output(ctx, "status", "es")
		if !strings.Contains(st, "write_queue=default") {
			if err := s.esRestart(ctx, ""); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
