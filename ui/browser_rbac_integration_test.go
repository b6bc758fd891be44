//go:build integration

package ui

import (
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserRBAC signs in as user A (role flowship_ui_shop → namespace
// shop) through the sign-in form in Chromium, on the real Elasticsearch
// with security on, and checks that the views show only A's flows: the
// fixture rows with an endpoint in shop (D1+D2 as one arc, D3), no other
// namespace's endpoints and no global policy name; then signs out.
func TestBrowserRBAC(t *testing.T) {
	user, pass := os.Getenv("FLOWSHIP_ES_USER_SHOP"), os.Getenv("FLOWSHIP_ES_PASSWORD_SHOP")
	if user == "" || pass == "" {
		t.Skip("FLOWSHIP_ES_USER_SHOP not set (deploy/local/services.sh env exports the RBAC test users)")
	}
	h, _ := rbacServer(t)
	ts := httptest.NewServer(h)
	defer ts.Close()
	ctx := browser(t)
	dir := screenshotDir(t)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText + " " + document.getElementById("main").innerHTML`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	noOutside := func(view string) {
		t.Helper()
		page := text()
		for _, bad := range []string{"image-sync", "dns-servers", "registry.example.org", "t1.p1", "t1.p4", "default-deny", "kns.ci"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s shows %q to user A", view, bad)
			}
		}
	}

	run("open", chromedp.Navigate(fmt.Sprintf("%s/#visualizer?%s", ts.URL, fixtureRange)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state=signin] form.signin`)))
	if n := count(ctx, t, "path.arc"); n != 0 {
		t.Errorf("%d arcs before sign-in", n)
	}
	run("sign in", ready(js(fmt.Sprintf(`const f = document.querySelector("form.signin"); f.elements.username.value = %q; f.elements.password.value = %q; f.requestSubmit()`, user, pass))))
	name, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("user-name").textContent`))
	if err != nil || name != user {
		t.Errorf("user name shown %q (%v), want %q", name, err, user)
	}
	if n := count(ctx, t, "path.arc"); n != 2 {
		t.Errorf("arcs %d, want 2 (D1+D2, D3: the flows with an endpoint in shop)", n)
	}
	noOutside("Flow Visualizer")
	shot(ctx, t, dir, "rbac-visualizer-shop.png")

	run("board", ready(chromedp.Navigate(fmt.Sprintf("%s/?b#board?%s", ts.URL, fixtureRange))))
	noOutside("Policy Board")
	if !strings.Contains(text(), "shop/t2.p2") {
		t.Errorf("Policy Board lacks A's own policy shop/t2.p2")
	}
	shot(ctx, t, dir, "rbac-board-shop.png")

	run("logs", ready(chromedp.Navigate(fmt.Sprintf("%s/?l#logs?%s", ts.URL, fixtureRange))))
	if n := count(ctx, t, "#flowlogs tr.row"); n != 3 {
		t.Errorf("flow log rows %d, want 3 (D1, D2, D3)", n)
	}
	noOutside("Flow logs")

	run("sign out", chromedp.Click(chromedp.CSS(`#signout`)), chromedp.WaitVisible(chromedp.CSS(`body[data-state=signin] form.signin`)))
	run("reload", chromedp.Navigate(fmt.Sprintf("%s/?o#logs?%s", ts.URL, fixtureRange)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state=signin] form.signin`)))
	if n := count(ctx, t, "#flowlogs tr.row"); n != 0 {
		t.Errorf("%d rows after sign-out", n)
	}
}
