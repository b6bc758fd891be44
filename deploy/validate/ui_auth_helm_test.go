package validate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// uiAuthValues enables the ui's access control in mode (docs/security.md).
func uiAuthValues(t *testing.T, mode string, rbac map[string]any) map[string]any {
	vals := readValues(t, "minimal-values.yaml")
	mergeInto(vals, map[string]any{"ui": map[string]any{"enabled": true, "auth": map[string]any{"mode": mode}, "rbac": rbac}})
	return vals
}

func TestChartUIAuthModes(t *testing.T) {
	t.Run("kubernetes", func(t *testing.T) {
		objs := renderObjects(t, uiAuthValues(t, "kubernetes", nil))
		if err := Invariants(objs); err != nil {
			t.Fatal(err)
		}
		sa := find[*corev1.ServiceAccount](t, objs, "-ui")
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Error("the ui ServiceAccount automounts a token")
		}
		cr := find[*rbacv1.ClusterRole](t, objs, "-ui-auth")
		got := map[string]string{}
		for _, r := range cr.Rules {
			for _, res := range r.Resources {
				got[strings.Join(r.APIGroups, ",")+"/"+res] = strings.Join(r.Verbs, ",")
			}
		}
		want := map[string]string{"authentication.k8s.io/tokenreviews": "create", "authorization.k8s.io/subjectaccessreviews": "create",
			"/namespaces": "list", "projectcalico.org/tiers": "list"}
		if len(got) != len(want) {
			t.Errorf("ClusterRole rules %v, want exactly %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("ClusterRole %s: %q, want %q", k, got[k], v)
			}
		}
		crb := find[*rbacv1.ClusterRoleBinding](t, objs, "-ui-auth")
		if crb.RoleRef.Name != cr.Name || len(crb.Subjects) != 1 || crb.Subjects[0].Name != sa.Name || crb.Subjects[0].Namespace != "flowship" {
			t.Errorf("binding %+v does not bind %s to %s", crb, cr.Name, sa.Name)
		}
		cfg := uiAuthConfig(t, objs)
		if cfg.UI.Auth["mode"] != "kubernetes" || cfg.UI.Auth["kubernetes"] == nil || cfg.UI.Auth["cache_ttl"] != "1m" {
			t.Errorf("ui-auth.yaml: %+v", cfg.UI.Auth)
		}
	})
	t.Run("elasticsearch", func(t *testing.T) {
		objs := renderObjects(t, uiAuthValues(t, "elasticsearch", map[string]any{"flowship_ui_shop": []any{"shop"}, "flowship_ui_all": "all"}))
		for _, o := range objs {
			if o.Kind == "ClusterRole" || strings.HasSuffix(o.Name, "-ui") {
				t.Errorf("elasticsearch mode rendered %s %s", o.Kind, o.Name)
			}
		}
		cfg := uiAuthConfig(t, objs)
		if cfg.UI.Auth["mode"] != "elasticsearch" || cfg.UI.Auth["kubernetes"] != nil {
			t.Errorf("ui-auth.yaml auth: %+v", cfg.UI.Auth)
		}
		if r := cfg.UI.RBAC; len(r) != 2 || r["flowship_ui_all"] != "all" || len(r["flowship_ui_shop"].([]any)) != 1 {
			t.Errorf("ui-auth.yaml rbac: %+v", r)
		}
	})
	for _, tc := range []struct {
		name, mode string
		rbac       map[string]any
		want       string
	}{
		{"none refused in a pod", "none", nil, "ui.auth.mode \"none\""},
		{"unknown mode", "ldap", nil, "ui.auth.mode \"ldap\""},
		{"elasticsearch without rbac", "elasticsearch", nil, "ui.rbac"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(uiAuthValues(t, tc.mode, tc.rbac))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
	if objs := renderObjects(t, readValues(t, "minimal-values.yaml")); len(objs) > 0 {
		for _, o := range objs {
			if strings.Contains(o.Name, "-ui") {
				t.Errorf("ui disabled by default, yet %s %s rendered", o.Kind, o.Name)
			}
		}
	}
}

type uiAuthFile struct {
	UI struct {
		Auth map[string]any `json:"auth"`
		RBAC map[string]any `json:"rbac"`
	} `json:"ui"`
}

func uiAuthConfig(t *testing.T, objs []Object) uiAuthFile {
	t.Helper()
	cm := find[*corev1.ConfigMap](t, objs, "-ui-auth")
	var f uiAuthFile
	if err := yaml.UnmarshalStrict([]byte(cm.Data["ui-auth.yaml"]), &f); err != nil {
		t.Fatalf("ui-auth.yaml: %v\n%s", err, cm.Data["ui-auth.yaml"])
	}
	return f
}
