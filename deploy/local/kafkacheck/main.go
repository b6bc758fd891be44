// Command kafkacheck waits until a Kafka broker can serve what the tests ask of it first.
//
// deploy/local/services.sh uses it as the readiness probe for the local broker: it exits 0 once
// a metadata request to one of -brokers lists at least -min-brokers brokers (default 1) and a
// controller, and a validate-only CreateTopics succeeds (a KRaft broker answers metadata before
// the controller counts it alive: a topic created in that moment fails with "Broker Not
// Available", as one did right after a switch to Kafka 3.9.1 in CI); it exits 1 when -timeout
// passes first or the process given by -pid exits. The 3-broker mode asks for all its brokers,
// so "ready" means every broker has registered.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated host:port list")
	timeout := flag.Duration("timeout", 60*time.Second, "give up after this long")
	pid := flag.Int("pid", 0, "fail early when this process is gone (0: do not watch)")
	minBrokers := flag.Int("min-brokers", 1, "wait until the metadata lists at least this many brokers")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	msg, err := wait(ctx, strings.Split(*brokers, ","), *pid, *minBrokers)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kafkacheck: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "kafkacheck: %s\n", msg)
}

// wait polls every broker address until one answers, the context ends or pid exits.
func wait(ctx context.Context, addrs []string, pid, minBrokers int) (string, error) {
	var last error
	for {
		for _, a := range addrs {
			msg, err := probe(ctx, a, minBrokers)
			if err == nil {
				return msg, nil
			}
			last = err
		}
		if pid > 0 && syscall.Kill(pid, 0) != nil {
			return "", fmt.Errorf("broker process %d exited; last probe error: %w", pid, last)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no broker ready at %s: %w", strings.Join(addrs, ","), errors.Join(ctx.Err(), last))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// probe asks one address for cluster metadata.
func probe(ctx context.Context, addr string, minBrokers int) (string, error) {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	d := &kafka.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(pctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := pctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	brokers, err := conn.Brokers()
	if err != nil {
		return "", fmt.Errorf("metadata from %s: %w", addr, err)
	}
	if len(brokers) == 0 || len(brokers) < minBrokers {
		return "", fmt.Errorf("metadata from %s lists %d broker(s), want %d", addr, len(brokers), max(minBrokers, 1))
	}
	ctrl, err := conn.Controller()
	if err != nil {
		return "", fmt.Errorf("controller from %s: %w", addr, err)
	}
	// Topic placement needs brokers the controller counts alive: ask for
	// one (validate only, nothing is created) the way a test creates its
	// topics.
	rf := max(minBrokers, 1)
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 2 * time.Second}
	resp, err := client.CreateTopics(pctx, &kafka.CreateTopicsRequest{
		Topics:       []kafka.TopicConfig{{Topic: "flowship-readiness-probe", NumPartitions: 1, ReplicationFactor: rf}},
		ValidateOnly: true,
	})
	if err == nil {
		err = resp.Errors["flowship-readiness-probe"]
	}
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return "", fmt.Errorf("validate-only topic creation at %s: %w", addr, err)
	}
	return fmt.Sprintf("ready: %d broker(s) at %s, controller %s, topics can be placed",
		len(brokers), addr, net.JoinHostPort(ctrl.Host, fmt.Sprint(ctrl.Port))), nil
}
