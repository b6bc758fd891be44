package elasticsearch

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// NamingMode selects the index naming scheme.
type NamingMode string

// The naming modes.
const (
	// NamingFlowship names indices <prefix>-<kind>-<cluster>-YYYY.MM.DD.
	NamingFlowship NamingMode = "flowship"
	// NamingCalico names indices tigera_secure_ee_<kind>.<cluster>.<prefix>-YYYYMMDD
	// so that Calico's templates, index patterns and dashboards
	// (tigera_secure_ee_<kind>.<cluster>.*, tigera_secure_ee_<kind>*) find
	// them (spec §6.2).
	NamingCalico NamingMode = "calico"
)

const calicoBase = "tigera_secure_ee_"

// Naming derives index names, patterns and aliases from a kind and an event
// time. Indices are daily and follow the record's event time in UTC, so a
// replayed document always lands in the index it was first written to and
// its _id deduplicates there (ARCHITECTURE §3.3). The retention package
// uses the same Naming for templates, ILM and the managed fallback.
//
// Naming is a pure value: its methods depend only on its fields and
// arguments.
type Naming struct {
	// Mode is "flowship" (default) or "calico".
	Mode NamingMode `yaml:"mode"`
	// Prefix starts flowship-mode names; in calico mode it is the
	// application part after the cluster (as "fluentd" was). Default
	// "flowship".
	Prefix string `yaml:"prefix"`
	// Cluster names the Kubernetes cluster the logs come from. Default
	// "cluster", Calico's default name.
	Cluster string `yaml:"cluster"`
}

// DefaultNaming returns flowship mode, prefix "flowship", cluster "cluster".
func DefaultNaming() Naming {
	return Naming{Mode: NamingFlowship, Prefix: "flowship", Cluster: "cluster"}
}

// Validate reports the first invalid field, naming its key under
// elasticsearch.naming.
func (n Naming) Validate() error {
	if n.Mode != NamingFlowship && n.Mode != NamingCalico {
		return fmt.Errorf("elasticsearch.naming.mode: %q is not one of flowship, calico", n.Mode)
	}
	if err := validNamePart(n.Prefix); err != nil {
		return fmt.Errorf("elasticsearch.naming.prefix: %w", err)
	}
	if strings.ContainsAny(n.Prefix[:1], "-_+.") {
		return fmt.Errorf("elasticsearch.naming.prefix: %q must not start with '-', '_', '+' or '.'", n.Prefix)
	}
	if err := validNamePart(n.Cluster); err != nil {
		return fmt.Errorf("elasticsearch.naming.cluster: %w", err)
	}
	// The longest name: the calico base, the longest kind, the date.
	if l := len(n.Index(pipeline.KindFlow, time.Time{})); l > 255 {
		return fmt.Errorf("elasticsearch.naming: index names would be %d bytes long, Elasticsearch allows 255; shorten prefix or cluster", l)
	}
	return nil
}

func validNamePart(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if s != strings.ToLower(s) {
		return fmt.Errorf("%q must be lowercase (Elasticsearch index names are)", s)
	}
	if i := strings.IndexAny(s, "\\/*?\"<>| ,#:"); i >= 0 {
		return fmt.Errorf("%q must not contain %q (not allowed in Elasticsearch index names)", s, s[i])
	}
	return nil
}

// Index returns the name of the daily index that holds documents of kind
// whose event time is t (the UTC day of t).
func (n Naming) Index(kind pipeline.Kind, t time.Time) string {
	return string(n.AppendIndex(nil, kind, t))
}

// AppendIndex appends Index(kind, t) to dst without allocating beyond
// dst's growth; the bulk builder uses it once per document.
func (n Naming) AppendIndex(dst []byte, kind pipeline.Kind, t time.Time) []byte {
	dst = n.appendBase(dst, kind)
	y, m, d := t.UTC().Date()
	if n.Mode == NamingCalico {
		dst = appendDigits(dst, y, 4)
		dst = appendDigits(dst, int(m), 2)
		return appendDigits(dst, d, 2)
	}
	dst = appendDigits(dst, y, 4)
	dst = append(dst, '.')
	dst = appendDigits(dst, int(m), 2)
	dst = append(dst, '.')
	return appendDigits(dst, d, 2)
}

// appendBase appends everything before the date, up to and including the
// final '-'.
func (n Naming) appendBase(dst []byte, kind pipeline.Kind) []byte {
	if n.Mode == NamingCalico {
		dst = append(dst, calicoBase...)
		dst = append(dst, kind...)
		dst = append(dst, '.')
		dst = append(dst, n.Cluster...)
		dst = append(dst, '.')
		dst = append(dst, n.Prefix...)
		return append(dst, '-')
	}
	dst = append(dst, n.Prefix...)
	dst = append(dst, '-')
	dst = append(dst, kind...)
	dst = append(dst, '-')
	dst = append(dst, n.Cluster...)
	return append(dst, '-')
}

// appendDigits appends v in decimal, zero-padded to width.
func appendDigits(dst []byte, v, width int) []byte {
	var b [8]byte
	i := len(b)
	for v > 0 || width > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		width--
		if i == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// Pattern returns the index pattern (with a trailing '*') that matches
// every daily index of kind under this naming. An Elasticsearch wildcard
// cannot say "digits only", so in flowship mode the pattern of cluster "a"
// also matches the indices of a cluster named "a-b"; use ParseIndex to keep
// only this naming's own indices when listing.
func (n Naming) Pattern(kind pipeline.Kind) string {
	return string(n.appendBase(nil, kind)) + "*"
}

// ReadAlias returns the alias that spans every daily index of kind, for
// queries and Kibana data views: <prefix>-<kind>-<cluster> in flowship
// mode, tigera_secure_ee_<kind>.<cluster>.<prefix> in calico mode (without
// the trailing dot of Calico's own write alias, which it must not take
// over).
func (n Naming) ReadAlias(kind pipeline.Kind) string {
	b := n.appendBase(nil, kind)
	return string(b[:len(b)-1])
}

// ParseDate returns the origination date (UTC midnight) encoded in the
// name of one of this naming's daily indices, and false for any other name.
func (n Naming) ParseDate(index string) (time.Time, bool) {
	_, t, ok := n.ParseIndex(index)
	return t, ok
}

// ParseIndex returns the kind and the origination date (UTC midnight) of
// one of this naming's daily indices, and false for any other name
// (another cluster, another prefix, a rollover suffix, a malformed date).
func (n Naming) ParseIndex(index string) (pipeline.Kind, time.Time, bool) {
	var buf [256]byte
	for _, k := range pipeline.Kinds {
		base := n.appendBase(buf[:0], k)
		rest, ok := strings.CutPrefix(index, string(base))
		if !ok {
			continue
		}
		layout := "2006.01.02"
		if n.Mode == NamingCalico {
			layout = "20060102"
		}
		if len(rest) != len(layout) {
			return "", time.Time{}, false
		}
		t, err := time.ParseInLocation(layout, rest, time.UTC)
		if err != nil {
			return "", time.Time{}, false
		}
		return k, t, true
	}
	return "", time.Time{}, false
}
