package synth

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"
)

// WriteHubble writes n Hubble exporter lines (cilium/cilium
// pkg/hubble/exporter shape) to w, one event every 150ms from start:
// TCP flows between a few client and api pods (SYNs, later packets,
// replies, drops), HTTP responses, and now and then a lost_events record.
// The same seed gives byte-identical output.
func WriteHubble(w io.Writer, seed uint64, start time.Time, n int) error {
	rng := rand.New(rand.NewPCG(seed, 0x4b))
	for i := 0; i < n; i++ {
		if _, err := io.WriteString(w, hubbleLine(rng, start.Add(time.Duration(i)*150*time.Millisecond))+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// HubbleFiles is what WriteHubbleFiles wrote.
type HubbleFiles struct {
	Live      string   // dir/events.log
	Backups   []string // rotated files kept, oldest first
	Rotations int
}

// WriteHubbleFiles writes the same n lines as WriteHubble to
// dir/events.log, rotated as Cilium's exporter rotates it (see
// HubbleWriter).
func WriteHubbleFiles(dir string, seed uint64, start time.Time, n int, rotateSize int64, maxBackups int) (HubbleFiles, error) {
	w := NewHubbleWriter(dir, seed, start, rotateSize, maxBackups)
	err := w.WriteEvents(n)
	files, cerr := w.Close()
	if err != nil {
		return HubbleFiles{}, err
	}
	return files, cerr
}

// HubbleWriter appends WriteHubble's lines to dir/events.log, a few at a
// time, and rotates that file as Cilium's exporter does (pkg/hubble/exporter
// writes each event with one Write to a lumberjack logger): before a line
// that would take the file past rotateSize bytes, events.log is renamed
// events-<time>.log, time being the rotation's time (here the event time
// of that line, UTC, as 2006-01-02T15-04-05.000, so names are
// reproducible), and a new events.log is created. At most maxBackups
// rotated files are kept, the oldest removed first (0: all).
type HubbleWriter struct {
	rng   *rand.Rand
	start time.Time
	i     int
	w     *rotator
}

// NewHubbleWriter returns a writer whose first event is at start.
func NewHubbleWriter(dir string, seed uint64, start time.Time, rotateSize int64, maxBackups int) *HubbleWriter {
	return &HubbleWriter{rng: rand.New(rand.NewPCG(seed, 0x4b)), start: start,
		w: &rotator{dir: dir, base: "events", maxSize: rotateSize, maxBackups: maxBackups}}
}

// WriteEvents writes the next n events, one every 150ms of event time.
func (h *HubbleWriter) WriteEvents(n int) error {
	for ; n > 0; n-- {
		tm := h.start.Add(time.Duration(h.i) * 150 * time.Millisecond)
		h.i++
		if err := h.WriteRaw(tm, hubbleLine(h.rng, tm)); err != nil {
			return err
		}
	}
	return nil
}

// WriteRaw writes one line as it is (a test's bad line, say) at event
// time tm, rotating first if needed.
func (h *HubbleWriter) WriteRaw(tm time.Time, line string) error {
	h.w.now = maxTime(h.w.now, tm)
	_, err := io.WriteString(h.w, line+"\n")
	return err
}

// Files returns the live file and the backups so far, oldest first.
func (h *HubbleWriter) Files() HubbleFiles {
	return HubbleFiles{Live: h.w.live(), Backups: slices.Clone(h.w.backups), Rotations: h.w.rotations}
}

// Close closes events.log and returns what was written.
func (h *HubbleWriter) Close() (HubbleFiles, error) {
	return h.Files(), h.w.Close()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func hubbleLine(rng *rand.Rand, tm time.Time) string {
	ts := tm.UTC().Format(time.RFC3339Nano)
	src, dst := rng.IntN(6), rng.IntN(4)
	switch n := rng.IntN(100); {
	case n < 2:
		return `{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"3"},"node_name":"cluster/node-1","time":"` + ts + `"}`
	case n < 10:
		return fmt.Sprintf(`{"flow":{"time":"%s","verdict":"FORWARDED","IP":{"source":"10.2.0.%d","destination":"10.1.0.%d"},"l4":{"TCP":{"source_port":8080,"destination_port":%d}},"source":{"namespace":"shop","pod_name":"api-%d-5f8b7c9d6-q9w2e","workloads":[{"name":"api-%d","kind":"Deployment"}]},"destination":{"namespace":"web","pod_name":"client-%d-7d9c5b6f4-2xk8p"},"Type":"L7","l7":{"type":"RESPONSE","latency_ns":"%d","http":{"code":%d,"method":"GET","url":"http://api-%d.shop/items","protocol":"HTTP/1.1","headers":[{"key":"user-agent","value":"curl/8.5"}]}},"is_reply":true,"traffic_direction":"INGRESS"},"node_name":"cluster/node-1","time":"%s"}`,
			ts, dst, src, 40000+src, dst, dst, src, 1000+rng.IntN(1000000), []int{200, 404, 503}[rng.IntN(3)], dst, ts)
	}
	verdict, flags, reply := "FORWARDED", `{"ACK":true}`, false
	switch rng.IntN(5) {
	case 0:
		flags = `{"SYN":true}`
	case 1:
		verdict, flags = "DROPPED", `{"SYN":true}`
	case 2:
		reply = true
	}
	s, d, sp, dp := fmt.Sprintf("10.1.0.%d", src), fmt.Sprintf("10.2.0.%d", dst), 40000+src, 8080
	sep := fmt.Sprintf(`{"namespace":"web","pod_name":"client-%d-7d9c5b6f4-2xk8p","labels":["k8s:app=client"]}`, src)
	dep := fmt.Sprintf(`{"namespace":"shop","pod_name":"api-%d-5f8b7c9d6-q9w2e","labels":["k8s:app=api-%d"],"workloads":[{"name":"api-%d","kind":"Deployment"}]}`, dst, dst, dst)
	if reply {
		s, d, sp, dp, sep, dep = d, s, dp, sp, dep, sep
	}
	pol := `"egress_allowed_by":[{"name":"allow-web","namespace":"web"}]`
	if verdict == "DROPPED" {
		pol = `"drop_reason_desc":"POLICY_DENIED","egress_denied_by":[{"name":"default-deny","namespace":"web","kind":"NetworkPolicy"}]`
	}
	return fmt.Sprintf(`{"flow":{"time":"%s","verdict":"%s","IP":{"source":"%s","destination":"%s","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":%d,"destination_port":%d,"flags":%s}},"source":%s,"destination":%s,"Type":"L3_L4","traffic_direction":"EGRESS","is_reply":%v,%s},"node_name":"cluster/node-1","time":"%s"}`,
		ts, verdict, s, d, sp, dp, flags, sep, dep, reply, pol, ts)
}

// WriteGoldmane writes windows 15-second windows of Goldmane emitter
// records (goldmane/proto/api.proto Flow as Go's encoding/json writes it),
// perWindow distinct flows each, to w; one window is one POST body. The
// same seed gives byte-identical output.
func WriteGoldmane(w io.Writer, seed uint64, start time.Time, windows, perWindow int) error {
	rng := rand.New(rand.NewPCG(seed, 0x67))
	s0 := start.Unix() / 15 * 15
	for win := 0; win < windows; win++ {
		s := s0 + int64(win)*15
		for i := 0; i < perWindow; i++ {
			bytesIn := rng.Int64N(100000)
			allow := 1 + i%2
			hit := fmt.Sprintf(`{"kind":1,"namespace":"ns-%d","name":"allow-%d","tier":"default","action":1,"rule_index":0}`, i%5, i%13)
			if allow == 2 {
				hit = `{"kind":10,"tier":"default","action":2,"rule_index":-1,"trigger":{"kind":6,"namespace":"ns-` + fmt.Sprint(i%5) + `","name":"default-deny","tier":"default"}}`
			}
			if _, err := fmt.Fprintf(w, `{"Key":{"source_name":"client-%d-*","source_namespace":"ns-%d","source_type":1,"dest_name":"server-%d-*","dest_namespace":"ns-%d","dest_type":1,"dest_port":%d,"proto":"tcp","reporter":%d,"action":%d,"policies":{"enforced_policies":[%s]}},"start_time":%d,"end_time":%d,"source_labels":["app=client-%d"],"dest_labels":["app=server-%d"],"packets_in":%d,"packets_out":%d,"bytes_in":%d,"bytes_out":%d,"num_connections_started":%d}`+"\n",
				i, i%7, i%13, i%5, 8000+i%50, 1+i%2, allow, hit, s, s+15, i, i%13, 1+bytesIn/1000, 1+bytesIn/2000, bytesIn, bytesIn/2, 1+rng.IntN(3)); err != nil {
				return err
			}
		}
	}
	return nil
}
