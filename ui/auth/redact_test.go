package auth

import (
	"encoding/json"
	"testing"
)

func TestRedactPolicy(t *testing.T) {
	shop := &Principal{Access: shopAccess()}
	full := &Principal{Access: FullAccess()}
	tierSec := &Principal{Access: Access{Policies: PolicyAccess{Namespaces: SomeNamespaces("shop"), Tiers: SomeNamespaces("default")}}}
	// Expected values written by hand from spec §2.3 and issue 11's idx|*|*|action|*.
	cases := []struct {
		name string
		p    *Principal
		in   string
		want string
	}{
		{"own namespaced policy", shop, "0|default|shop/default.allow-web|allow|0", "0|default|shop/default.allow-web|allow|0"},
		{"other namespace's policy", shop, "1|default|other/default.deny-all|deny|2", "1|*|*|deny|*"},
		{"own knp", shop, "0|default|shop/knp.default.web|allow|1", "0|default|shop/knp.default.web|allow|1"},
		{"other knp", shop, "0|default|other/knp.default.db|pass|-1", "0|*|*|pass|*"},
		{"global policy hidden from namespace role", shop, "0|security|security.block-bad|pass|-1", "0|*|*|pass|*"},
		{"staged other", shop, "2|default|other/default.staged:x|deny|0", "2|*|*|deny|*"},
		{"own profile", shop, "3|__PROFILE__|__PROFILE__.kns.shop|allow|0", "3|__PROFILE__|__PROFILE__.kns.shop|allow|0"},
		{"other profile", shop, "3|__PROFILE__|__PROFILE__.kns.other|allow|0", "3|*|*|allow|*"},
		{"no-match profile is global", shop, "0|__PROFILE__|__PROFILE__.__NO_MATCH__|deny|-1", "0|*|*|deny|*"},
		{"4-part old form", shop, "0|default|other/default.p|allow", "0|*|*|allow"},
		{"garbage", shop, "not a policy", "*"},
		{"garbage for full access stays", full, "not a policy", "not a policy"},
		{"full access reads global", full, "0|security|security.block-bad|pass|-1", "0|security|security.block-bad|pass|-1"},
		{"tier not readable", tierSec, "0|security|shop/security.p|allow|0", "0|*|*|allow|*"},
		{"tier readable", tierSec, "0|default|shop/default.p|allow|0", "0|default|shop/default.p|allow|0"},
		{"nil principal", nil, "0|default|shop/default.p|allow|0", "0|*|*|allow|*"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := RedactPolicy(c.p, c.in); got != c.want {
				t.Errorf("RedactPolicy(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestRedactSource(t *testing.T) {
	shop := &Principal{Access: shopAccess()}
	src := `{"source_namespace":"shop","dest_namespace":"other","policies":{"all_policies":["0|default|other/default.deny-all|deny|2"],` +
		`"enforced_policies":["0|default|other/default.deny-all|deny|2","1|default|shop/default.web|allow|0"],"pending_policies":null},` +
		`"policy_hits":[{"list":"enforced","index":0,"tier":"default","kind":"np","namespace":"other","name":"other/default.deny-all","action":"deny","rule":2},` +
		`{"list":"enforced","index":1,"tier":"default","kind":"np","namespace":"shop","name":"shop/default.web","action":"allow","rule":0},` +
		`{"list":"enforced","index":2,"tier":"security","kind":"gnp","namespace":"","name":"security.x","action":"pass","rule":-1}],"bytes_in":12345678901234}`
	out, err := RedactSource(shop, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	// Hand-written expectation: other's and the global policy hidden, shop's kept,
	// everything else (including a large integer) unchanged.
	want := `{"source_namespace":"shop","dest_namespace":"other","policies":{"all_policies":["0|*|*|deny|*"],` +
		`"enforced_policies":["0|*|*|deny|*","1|default|shop/default.web|allow|0"],"pending_policies":null},` +
		`"policy_hits":[{"list":"enforced","index":0,"tier":"*","kind":"*","namespace":"*","name":"*","action":"deny","rule":"*"},` +
		`{"list":"enforced","index":1,"tier":"default","kind":"np","namespace":"shop","name":"shop/default.web","action":"allow","rule":0},` +
		`{"list":"enforced","index":2,"tier":"*","kind":"*","namespace":"","name":"*","action":"pass","rule":"*"}],"bytes_in":12345678901234}`
	if !jsonEqual(t, out, []byte(want)) {
		t.Errorf("RedactSource\n got %s\nwant %s", out, want)
	}
	same, err := RedactSource(&Principal{Access: FullAccess()}, []byte(src))
	if err != nil || string(same) != src {
		t.Errorf("full access changed the document: %v %s", err, same)
	}
	if _, err := RedactSource(shop, []byte(`{"policies":{"all_policies":[1]}}`)); err == nil {
		t.Error("a policies list of numbers was accepted")
	}
	if _, err := RedactSource(shop, []byte(`{`)); err == nil {
		t.Error("broken JSON accepted")
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func FuzzRedactPolicy(f *testing.F) {
	for _, s := range []string{"0|default|other/default.p|allow|0", "0|a|b|c", "", "|||||", "0|__PROFILE__|__PROFILE__.kns.x|allow|-1"} {
		f.Add(s)
	}
	shop := &Principal{Access: shopAccess()}
	f.Fuzz(func(t *testing.T, s string) {
		out := RedactPolicy(shop, s)
		if out != s && out != Hidden {
			// A redacted string keeps only index and action.
			if n := len(out); n == 0 {
				t.Fatalf("empty output for %q", s)
			}
		}
		if RedactPolicy(shop, out) != out && out != s {
			t.Fatalf("redaction not idempotent: %q → %q → %q", s, out, RedactPolicy(shop, out))
		}
	})
}

func FuzzRedactSource(f *testing.F) {
	for _, s := range []string{
		`{"policies":{"enforced_policies":["0|default|other/default.p|deny|0"]},"policy_hits":[{"list":"enforced","index":0,"tier":"default","kind":"np","namespace":"other","name":"other/default.p","action":"deny","rule":0}]}`,
		`{"policies":null}`, `{}`, `[]`, `{"policy_hits":[{}]}`, `{"policies":{"all_policies":null}}`,
	} {
		f.Add([]byte(s))
	}
	shop := &Principal{Access: shopAccess()}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := RedactSource(shop, src)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out of %q: %q", src, out)
		}
		// What comes out is a fixed point: redacting again changes nothing.
		again, err := RedactSource(shop, out)
		if err != nil || !jsonEqual(t, again, out) {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", src, out, again, err)
		}
	})
}

// TestRedactSourceDecidingPolicy: flow documents also carry "policy", the
// parsed deciding enforced entry (schema.FlowDoc); a hidden one must not
// leak its tier, name or rule through the flow log table or export.
func TestRedactSourceDecidingPolicy(t *testing.T) {
	shop := &Principal{Access: shopAccess()}
	for _, c := range []struct{ in, want string }{
		// Hand-written: other's policy hidden like idx|*|*|action|*, shop's kept.
		{`{"policy":{"tier":"default","name":"other/default.deny-all","action":"deny","rule":2,"index":0,"staged":false}}`,
			`{"policy":{"action":"deny","index":0,"name":"*","rule":"*","staged":false,"tier":"*"}}`},
		{`{"policy":{"tier":"default","name":"shop/default.web","action":"allow","rule":0,"index":1,"staged":false}}`,
			`{"policy":{"tier":"default","name":"shop/default.web","action":"allow","rule":0,"index":1,"staged":false}}`},
		{`{"policy":null}`, `{"policy":null}`},
	} {
		out, err := RedactSource(shop, []byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != c.want {
			t.Errorf("RedactSource(%s)\n got %s\nwant %s", c.in, out, c.want)
		}
	}
}
