package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// cachedCheck runs check at most once per ttl and returns its last result,
// so a scraping probe cannot hammer the dependencies.
func cachedCheck(ttl time.Duration, check func(context.Context) error) func() error {
	var (
		mu   sync.Mutex
		last time.Time
		err  = errors.New("not checked yet")
	)
	return func() error {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) >= ttl {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = check(ctx)
			cancel()
			last = time.Now()
		}
		return err
	}
}

// brokersReachable succeeds when at least one broker accepts a TCP
// connection: the writer and reader then make progress or log why not.
func brokersReachable(brokers []string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		for _, b := range brokers {
			c, err := d.DialContext(ctx, "tcp", b)
			if err == nil {
				c.Close()
				return nil
			}
		}
		return fmt.Errorf("no Kafka broker of %s accepts connections; check kafka.brokers and network policy", strings.Join(brokers, ","))
	}
}

// esReachable succeeds when Elasticsearch answers cluster health.
func esReachable(client esClient, urls []string) func(context.Context) error {
	return func(ctx context.Context) error {
		res, err := client.Cluster.Health(client.Cluster.Health.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("elasticsearch %s unreachable: %w", strings.Join(urls, ","), err)
		}
		defer res.Body.Close()
		if res.IsError() {
			return fmt.Errorf("elasticsearch %s: cluster health answered %s; check index.elasticsearch credentials", strings.Join(urls, ","), res.Status())
		}
		return nil
	}
}
