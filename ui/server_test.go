package ui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	esink "github.com/flowship/flowship/sinks/elasticsearch"
)

// failingES answers every search with an error that carries internals
// which must never reach the browser.
type failingES struct{ queries int }

func (f *failingES) search(context.Context, string, any) ([]byte, error) {
	f.queries++
	return nil, errES{errors.New("secret internals: index [flowship-flows-x] shard 3 failed")}
}

func TestElasticsearchErrorIsNotPassedThrough(t *testing.T) {
	es := &failingES{}
	s := &Server{cfg: DefaultConfig(), es: es, naming: esink.DefaultNaming(), log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	for _, path := range []string{"/api/flows/graph", "/api/policies/board", "/api/services/graph", "/api/flowlogs", "/api/flowlogs/export", "/api/services/http", "/api/services/dns"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 502 {
			t.Errorf("%s: %d, want 502", path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "shard") {
			t.Errorf("%s: internals passed through: %s", path, rec.Body.String())
		}
	}
	if es.queries != 7 {
		t.Errorf("%d queries, want 7", es.queries)
	}
}

func TestParseFilter(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	q, _ := url.ParseQuery("range=15m&src_ns=shop&src_ns=pay&label=app%3Dweb&label=tier%3Dfe&action=deny&name=")
	f, err := parseFilter(q, nil, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !f.From.Equal(now.Add(-15*time.Minute)) || !f.To.Equal(now) || f.Range != "15m" {
		t.Errorf("range %v..%v %q", f.From, f.To, f.Range)
	}
	if strings.Join(f.SrcNamespace, ",") != "shop,pay" || len(f.Label) != 2 || f.Action[0] != "deny" || f.Name != nil {
		t.Errorf("filter %+v", f)
	}
	q, _ = url.ParseQuery("from=1781085600000&to=2026-06-10T11:00:00Z")
	f, err = parseFilter(q, nil, now, 24*time.Hour)
	if err != nil || f.From != time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC) || f.To.Sub(f.From) != time.Hour {
		t.Errorf("absolute: %v %v %v", f.From, f.To, err)
	}
}

func FuzzParseFilter(f *testing.F) {
	f.Add("range=1h&src_ns=shop&label=a%3Db")
	f.Add("from=1&to=2&action=deny")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := parseFilter(q, nil, time.Unix(1e9, 0), 24*time.Hour)
		if err != nil {
			var bad badRequest
			if !errors.As(err, &bad) {
				t.Fatalf("error is not a badRequest: %v", err)
			}
			return
		}
		if !flt.From.Before(flt.To) || flt.To.Sub(flt.From) > 24*time.Hour {
			t.Fatalf("range %v..%v accepted", flt.From, flt.To)
		}
		if _, err := json.Marshal(flt); err != nil {
			t.Fatal(err)
		}
	})
}
