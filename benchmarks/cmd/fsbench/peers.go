package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runRsyslog runs rsyslogd in the foreground with benchmarks/rsyslog's
// configuration until Kafka holds one record per line; CPU and peak RSS
// are read at that moment, then rsyslogd is stopped.
func (b *bench) runRsyslog(ctx context.Context, r int) (runResult, error) {
	dir := b.runDir("rsyslog", r)
	topics := b.topics("rsyslog", r)
	if err := b.kafka.createTopics(ctx, topics); err != nil {
		return runResult{}, fmt.Errorf("creating topics: %w", err)
	}
	defer func() {
		_ = b.kafka.deleteTopics(context.WithoutCancel(ctx), append(topics.Kinds(), topics.DeadLetter)...)
	}()
	conf, err := b.rsyslogConfig(dir, topics.Flows, topics.L7, topics.DNS)
	if err != nil {
		return runResult{}, err
	}
	args := []string{"-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid")}
	p, err := startProc(b.o.rsyslogd, args, filepath.Join(dir, "rsyslogd.log"))
	if err != nil {
		return runResult{}, err
	}
	res, err := b.measureUntil(ctx, p, func() (int64, error) { return b.kafka.count(ctx, topics.Kinds()...) }, b.w.res.Lines)
	if stopErr := p.stop(30 * time.Second); err == nil && stopErr != nil {
		err = stopErr
	}
	if err != nil {
		return res, fmt.Errorf("rsyslogd: %w (log: %s)", err, p.log.Name())
	}
	res.Lines = b.w.res.Lines
	res.RecordsOut, err = b.kafka.count(ctx, topics.Kinds()...)
	return res, err
}

// rsyslogConfig fills the template's placeholders for one run.
func (b *bench) rsyslogConfig(dir, flows, l7, dns string) (string, error) {
	tmpl, err := os.ReadFile(b.o.rsyslogConf)
	if err != nil {
		return "", fmt.Errorf("rsyslog configuration template: %w", err)
	}
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	conf := strings.NewReplacer("@WORK@", work, "@LOGS@", b.w.logs, "@BROKERS@", quoteList(b.o.brokers)[1:len(quoteList(b.o.brokers))-1],
		"@TOPIC_FLOWS@", flows, "@TOPIC_L7@", l7, "@TOPIC_DNS@", dns).Replace(string(tmpl))
	path := filepath.Join(dir, "rsyslog.conf")
	return path, os.WriteFile(path, []byte(conf), 0o644)
}
