//go:build integration

package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts Debian's chromium headless (deploy/local/deps.sh installs
// it) and returns a chromedp context. Without chromium the test fails in CI
// and is skipped elsewhere.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not found; deploy/local/deps.sh installs Debian's chromium")
		}
		t.Skip("chromium not found; run deploy/local/deps.sh")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1360, 1000), chromedp.Flag("hide-scrollbars", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// screenshotDir is where the screenshots go: docs/ui with
// FLOWSHIP_UI_SCREENSHOTS=1 (to refresh docs/ui.md), else a temp dir.
func screenshotDir(t *testing.T) string {
	if os.Getenv("FLOWSHIP_UI_SCREENSHOTS") != "" {
		return filepath.Join("..", "docs", "ui")
	}
	return t.TempDir()
}

// ready marks the page stale, runs the steps, and waits until the view has
// rendered again (body[data-state=ready]).
func ready(steps ...chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	all := append([]chromedp.Action[chromedp.Void]{js(`document.body.dataset.state = "stale"`)}, steps...)
	all = append(all, chromedp.WaitVisible(chromedp.CSS(`body[data-state=ready]`)))
	return chromedp.Steps(all...)
}

// js evaluates a JavaScript statement for its effect.
func js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool]("(() => { "+expr+"; return true })()")(ctx, t)
		return err
	})
}

func count(ctx context.Context, t *testing.T, selector string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, selector)))
	if err != nil {
		t.Fatalf("count %s: %v", selector, err)
	}
	return n
}

func shot(ctx context.Context, t *testing.T, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowser(t *testing.T) {
	srv, _ := loadFixture(t)
	h := srv.Handler()
	ts := httptest.NewServer(h)
	defer ts.Close()
	ctx := browser(t)
	dir := screenshotDir(t)
	cur := t // the running subtest: run and eval fail it, not the parent
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		cur.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			cur.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, expr string, v any) {
		cur.Helper()
		res, err := chromedp.Run(ctx, chromedp.Evaluate[string]("JSON.stringify((() => { return "+expr+" })())"))
		if err != nil {
			cur.Fatalf("%s: %v", what, err)
		}
		if err := json.Unmarshal([]byte(res), v); err != nil {
			cur.Fatalf("%s: %v", what, err)
		}
	}
	loads := 0
	open := func(view string) chromedp.Action[chromedp.Void] {
		loads++ // a new query string makes a full page load, not a hash change
		return ready(chromedp.Navigate(fmt.Sprintf("%s/?load=%d#%s?%s", ts.URL, loads, view, fixtureRange)))
	}

	t.Run("FlowVisualizer", func(t *testing.T) {
		cur = t
		run("open", open("visualizer"))
		if n, d := count(ctx, t, "path.arc"), count(ctx, t, "path.arc.denied"); n != 5 || d != 2 {
			t.Errorf("arcs %d (denied %d), want 5 (2): D1+D2 one arc, D3..D6", n, d)
		}
		if n := count(ctx, t, `path.arc.denied[stroke-dasharray], path.arc.denied.status`); n != 2 {
			t.Errorf("denied arcs without the dashed cue: %d", n)
		}
		// Hover the thickest denied arc (D3): its ports and policies come
		// from /api/flows/arc after the tooltip opens.
		var tipText string
		eval("hover", `(document.querySelector('path.arc.denied').dispatchEvent(new MouseEvent('mouseenter', {clientX: 300, clientY: 300})), document.getElementById('tooltip').textContent)`, &tipText)
		for deadline := time.Now().Add(10 * time.Second); strings.Contains(tipText, "loading…") && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond) // polls for the answer; no assertion rests on the wait
			eval("tooltip", `document.getElementById('tooltip').textContent`, &tipText)
		}
		if !strings.Contains(tipText, "action: deny") || !strings.Contains(tipText, "ports: 443/tcp\n") || !strings.Contains(tipText, "policies: t1.p1, t2.default-deny\n") {
			t.Errorf("tooltip %q, want D3's action, port and policies", tipText)
		}
		run("unhover", js(`document.getElementById('tooltip').hidden = true`))
		shot(ctx, t, dir, "visualizer-status.png")
		// Keyboard: focus the namespace segment and press Enter (a mouse click at
		// the centre of an annulus segment's box can land on an arc instead).
		run("zoom into shop", chromedp.Focus(chromedp.CSS(`path.ring-group[data-group="shop"]`)),
			js(`document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}))`))
		if n := count(ctx, t, "path.arc"); n != 2 { // D1+D2 and D3 touch shop
			t.Errorf("zoomed arcs %d, want 2", n)
		}
		run("names view", chromedp.Click(chromedp.CSS(`button[data-value="names"]`)))
		shot(ctx, t, dir, "visualizer-zoom-names.png")
		run("filter action=deny", ready(
			chromedp.SetValue(chromedp.CSS(`select[name=action]`), "deny"),
			chromedp.Click(chromedp.CSS(`#filter button[type=submit]`))))
		if n, d := count(ctx, t, "path.arc"), count(ctx, t, "path.arc.denied"); n != 2 || d != 2 {
			t.Errorf("after action=deny: arcs %d, denied %d, want 2, 2", n, d)
		}
		var hash string
		eval("hash", `location.hash`, &hash)
		if !strings.Contains(hash, "action=deny") {
			t.Errorf("filter not in the URL: %s", hash)
		}
		run("empty", ready(chromedp.Navigate(ts.URL+"/?load=empty#visualizer?"+fixtureRange+"&src_ns=nowhere")))
		empty, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.empty`)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(empty, "flowship collect") {
			t.Errorf("empty state %q does not say what to do", empty)
		}
	})

	t.Run("PolicyBoard", func(t *testing.T) {
		cur = t
		run("open", open("board"))
		var api struct {
			Lists map[string][]struct {
				Tier     string
				Policies []struct {
					Name                                 string
					Connections, Allowed, Denied, Passed int64
				}
			}
		}
		get(t, h, "/api/policies/board?"+fixtureRange, 200, &api)
		check := func(list string) {
			var cells []map[string]string
			eval("cells", `[...document.querySelectorAll('.tier')].flatMap(t => [...t.querySelectorAll('.policy')].map(p => ({tier: t.dataset.tier, name: p.dataset.policy, c: p.dataset.connections, a: p.dataset.allowed, d: p.dataset.denied, p: p.dataset.passed})))`, &cells)
			var want []map[string]string
			for _, tr := range api.Lists[list] {
				for _, p := range tr.Policies {
					want = append(want, map[string]string{"tier": tr.Tier, "name": p.Name, "c": fmt.Sprint(p.Connections), "a": fmt.Sprint(p.Allowed), "d": fmt.Sprint(p.Denied), "p": fmt.Sprint(p.Passed)})
				}
			}
			g, _ := json.Marshal(cells)
			w, _ := json.Marshal(want)
			if string(g) != string(w) || len(want) == 0 {
				t.Errorf("%s board cells\n got %s\nwant %s", list, g, w)
			}
		}
		check("enforced")
		run("open t1.p1", chromedp.Click(chromedp.CSS(`.policy[data-policy="t1.p1"]`)), chromedp.WaitVisible(chromedp.CSS(`#rules table`)))
		if n := count(ctx, t, "#rules tbody tr"); n != 2 { // egress and ingress of rule 0
			t.Errorf("rules of t1.p1: %d rows, want 2", n)
		}
		shot(ctx, t, dir, "board-enforced.png")
		run("pending", ready(chromedp.Click(chromedp.CSS(`button[data-value="pending"]`)))) // asks the API for the pending list
		check("pending")
		if n := count(ctx, t, `.policy.staged[data-policy="shop/t2.staged:p3"][data-denied="3"]`); n != 1 {
			t.Errorf("staged deny card missing")
		}
		shot(ctx, t, dir, "board-pending.png")
	})

	t.Run("ServiceGraph", func(t *testing.T) {
		cur = t
		run("open", open("services"))
		if n, d := count(ctx, t, "path.edge"), count(ctx, t, "path.edge.denied"); n != 5 || d != 2 {
			t.Errorf("edges %d (denied %d), want 5 (2)", n, d)
		}
		// Keyboard again: the centre of a curve's box is rarely on the curve.
		run("select edge", chromedp.Focus(chromedp.CSS(`path.edge[aria-label="edge workload:shop/storefront-* to service:shop/cart-api allow"]`)),
			js(`document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}))`),
			chromedp.WaitVisible(chromedp.CSS(`#http-calls`)))
		if n, bad := count(ctx, t, "#http-calls tbody tr"), count(ctx, t, "#http-calls tbody tr.bad"); n != 2 || bad != 1 {
			t.Errorf("HTTP rows %d (4xx/5xx %d), want 2 (1)", n, bad)
		}
		shot(ctx, t, dir, "services-http.png")
		run("DNS tab", chromedp.Click(chromedp.CSS(`#tab-dns`)), chromedp.WaitVisible(chromedp.CSS(`#dns-lookups`)))
		if n, bad := count(ctx, t, "#dns-lookups tbody tr"), count(ctx, t, "#dns-lookups tbody tr.bad"); n != 2 || bad != 1 {
			t.Errorf("DNS rows %d (failed %d), want 2 (1)", n, bad)
		}
		shot(ctx, t, dir, "services-dns.png")
	})

	t.Run("FlowLogs", func(t *testing.T) {
		cur = t
		run("open", open("logs"))
		if n := count(ctx, t, "#flowlogs tr.row"); n != 6 {
			t.Errorf("rows %d, want 6 (D1..D6)", n)
		}
		run("expand", chromedp.Click(chromedp.CSS(`#flowlogs tr.row`)))
		if n := count(ctx, t, "#flowlogs tr.detail:not([hidden])"); n != 1 {
			t.Errorf("expanded rows %d, want 1", n)
		}
		shot(ctx, t, dir, "flowlogs.png")
		run("filter for deny", ready(chromedp.Click(chromedp.CSS(`button.ffv[aria-label="filter for action deny"]`))))
		if n := count(ctx, t, "#flowlogs tr.row"); n != 2 {
			t.Errorf("rows after filter-for-value action=deny: %d, want 2 (D3, D5)", n)
		}
		attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#export`), "href"))
		if err != nil {
			t.Fatal(err)
		}
		href := attr.Value
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", strings.TrimPrefix(href, ts.URL), nil))
		if rec.Code != http.StatusOK || strings.Count(rec.Body.String(), "\n") != 2 {
			t.Errorf("export: %d, %d lines, want 2", rec.Code, strings.Count(rec.Body.String(), "\n"))
		}
	})
}
