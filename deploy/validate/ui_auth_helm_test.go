package validate

import (
	"encoding/base64"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
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
		objs := renderObjects(t, readValues(t, "minimal-values.yaml", "ui-kubernetes-values.yaml"))
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
		cfg := uiConfig(t, objs)
		k, _ := cfg.UI.Auth["kubernetes"].(map[string]any)
		if cfg.UI.Auth["mode"] != "kubernetes" || k["token_file"] != "/var/run/secrets/flowship/ui/token" || cfg.UI.Auth["cache_ttl"] != "30s" {
			t.Errorf("ui config auth: %+v", cfg.UI.Auth)
		}
		d := checkUIDeployment(t, objs, cfg, sa.Name)
		// The token the ui calls the API server with: projected, bound to the
		// pod, at the directory of ui.auth.kubernetes.token_file.
		var proj *corev1.ProjectedVolumeSource
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == "kube-api" {
				proj = v.Projected
			}
		}
		if proj == nil || len(proj.Sources) != 2 || proj.Sources[0].ServiceAccountToken == nil || proj.Sources[0].ServiceAccountToken.Path != "token" ||
			proj.Sources[1].ConfigMap == nil || proj.Sources[1].ConfigMap.Items[0].Path != "ca.crt" {
			t.Fatalf("kube-api volume %+v: want the projected token and ca.crt", proj)
		}
		if m := mountOf(d, "kube-api"); m != "/var/run/secrets/flowship/ui" {
			t.Errorf("kube-api mounted at %q", m)
		}
	})
	t.Run("elasticsearch", func(t *testing.T) {
		objs := renderObjects(t, readValues(t, "minimal-values.yaml", "ui-elasticsearch-values.yaml"))
		if err := Invariants(objs); err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.Kind == "ClusterRole" || o.Kind == "ClusterRoleBinding" {
				t.Errorf("elasticsearch mode rendered %s %s", o.Kind, o.Name)
			}
		}
		cfg := uiConfig(t, objs)
		if cfg.UI.Auth["mode"] != "elasticsearch" || cfg.UI.Auth["kubernetes"] != nil {
			t.Errorf("ui config auth: %+v", cfg.UI.Auth)
		}
		if r := cfg.UI.RBAC; len(r) != 2 || r["flowship_ui_all"] != "all" || len(r["flowship_ui_shop"].([]any)) != 1 {
			t.Errorf("ui config rbac: %+v", r)
		}
		if cfg.UI.TLS["cert_file"] != "/etc/flowship/ui-tls/tls.crt" {
			t.Errorf("ui config tls: %+v", cfg.UI.TLS)
		}
		es := cfg.Index.Elasticsearch
		if es["password_file"] != "/etc/flowship/es/password" || es["username"] != "flowship" {
			t.Errorf("ui config index.elasticsearch: %+v", es)
		}
		d := checkUIDeployment(t, objs, cfg, find[*corev1.ServiceAccount](t, objs, "-ui").Name)
		if mountOf(d, "es-credentials") != "/etc/flowship/es" || mountOf(d, "ui-tls") != "/etc/flowship/ui-tls" || mountOf(d, "kube-api") != "" {
			t.Errorf("ui mounts: es-credentials %q, ui-tls %q, kube-api %q", mountOf(d, "es-credentials"), mountOf(d, "ui-tls"), mountOf(d, "kube-api"))
		}
	})
	t.Run("ui as root is caught", func(t *testing.T) {
		objs := renderObjects(t, readValues(t, "minimal-values.yaml", "ui-kubernetes-values.yaml"))
		find[*appsv1.Deployment](t, objs, "-ui").Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil
		if err := Invariants(objs); err == nil || !strings.Contains(err.Error(), "the ui needs no node access and must run as non-root") {
			t.Fatalf("got %v, want the ui's non-root invariant", err)
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

// checkUIDeployment checks what both modes share: `flowship ui` on the ui
// ConfigMap, a non-loopback listen the Service targets, probes on the
// telemetry port the config names, the ui's ServiceAccount.
func checkUIDeployment(t *testing.T, objs []Object, cfg uiConfigFile, sa string) *appsv1.Deployment {
	t.Helper()
	d := find[*appsv1.Deployment](t, objs, "-ui")
	ps := d.Spec.Template.Spec
	c := ps.Containers[0]
	if got := strings.Join(c.Args, " "); got != "ui --config /etc/flowship/flowship.yaml" {
		t.Errorf("ui args %q", got)
	}
	if ps.ServiceAccountName != sa {
		t.Errorf("serviceAccountName %q, want %q", ps.ServiceAccountName, sa)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if cfg.UI.Listen != "0.0.0.0:9090" || ports["http"] != 9090 {
		t.Errorf("ui.listen %q, container port http %d: want 0.0.0.0:9090 and 9090", cfg.UI.Listen, ports["http"])
	}
	if cfg.Telemetry.Listen != ":9465" || ports["metrics"] != 9465 || c.ReadinessProbe.HTTPGet.Port.StrVal != "metrics" {
		t.Errorf("telemetry.listen %q, metrics port %d, readiness port %v", cfg.Telemetry.Listen, ports["metrics"], c.ReadinessProbe.HTTPGet.Port)
	}
	svc := find[*corev1.Service](t, objs, "-ui")
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.StrVal != "http" || svc.Spec.Selector["app.kubernetes.io/component"] != "ui" {
		t.Errorf("ui Service %+v", svc.Spec)
	}
	for _, v := range ps.Volumes {
		if v.Name == "config" && (v.ConfigMap == nil || !strings.HasSuffix(v.ConfigMap.Name, "-ui")) {
			t.Errorf("config volume %+v: want the ui ConfigMap", v)
		}
	}
	// Every replica reads the session key the config names.
	if cfg.UI.Auth["session_key_file"] != "/etc/flowship/ui-session/keys" || mountOf(d, "ui-session") != "/etc/flowship/ui-session" {
		t.Errorf("session_key_file %v, ui-session mounted at %q", cfg.UI.Auth["session_key_file"], mountOf(d, "ui-session"))
	}
	return d
}

// sessionSecretOf is the Secret name of the ui-session volume.
func sessionSecretOf(t *testing.T, d *appsv1.Deployment) string {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "ui-session" && v.Secret != nil && len(v.Secret.Items) == 1 && v.Secret.Items[0].Key == "keys" && v.Secret.Items[0].Path == "keys" {
			return v.Secret.SecretName
		}
	}
	t.Fatalf("no ui-session volume with key keys: %+v", d.Spec.Template.Spec.Volumes)
	return ""
}

// TestChartUISessionKeyAndReplicas: the chart draws a session key the ui
// accepts (base64 of 32 bytes on a line) unless an existing Secret is
// named, and runs ui.replicas replicas over it.
func TestChartUISessionKeyAndReplicas(t *testing.T) {
	vals := readValues(t, "minimal-values.yaml", "ui-elasticsearch-values.yaml")
	mergeInto(vals, map[string]any{"ui": map[string]any{"replicas": 3}})
	objs := renderObjects(t, vals)
	if err := Invariants(objs); err != nil {
		t.Fatal(err)
	}
	d := find[*appsv1.Deployment](t, objs, "-ui")
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("ui replicas %v, want 3", d.Spec.Replicas)
	}
	sec := find[*corev1.Secret](t, objs, "-ui-session")
	if sessionSecretOf(t, d) != sec.Name || sec.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("ui-session volume names %q, Secret %s %v", sessionSecretOf(t, d), sec.Name, sec.Annotations)
	}
	file := string(sec.Data["keys"])
	line, ok := strings.CutSuffix(file, "\n")
	k, err := base64.StdEncoding.DecodeString(line)
	if !ok || err != nil || len(k) != 32 {
		t.Errorf("generated keys %q: want the base64 of 32 bytes and a newline (%v)", file, err)
	}
	again := find[*corev1.Secret](t, renderObjects(t, vals), "-ui-session")
	if string(again.Data["keys"]) == file {
		t.Error("two renders without a cluster drew the same key")
	}

	mergeInto(vals, map[string]any{"ui": map[string]any{"session": map[string]any{"existingSecret": "my-ui-keys"}}})
	objs = renderObjects(t, vals)
	for _, o := range objs {
		if o.Kind == "Secret" {
			t.Errorf("existingSecret set, yet Secret %s rendered", o.Name)
		}
	}
	if got := sessionSecretOf(t, find[*appsv1.Deployment](t, objs, "-ui")); got != "my-ui-keys" {
		t.Errorf("ui-session volume names %q, want my-ui-keys", got)
	}
}

func mountOf(d *appsv1.Deployment, volume string) string {
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

type uiConfigFile struct {
	Cluster   string `json:"cluster"`
	Node      string `json:"node"`
	Telemetry struct {
		Listen    string `json:"listen"`
		LogLevel  string `json:"log_level"`
		LogFormat string `json:"log_format"`
	} `json:"telemetry"`
	Index struct {
		Elasticsearch map[string]any `json:"elasticsearch"`
	} `json:"index"`
	UI struct {
		Listen   string         `json:"listen"`
		BasePath string         `json:"base_path"`
		TLS      map[string]any `json:"tls"`
		Auth     map[string]any `json:"auth"`
		RBAC     map[string]any `json:"rbac"`
	} `json:"ui"`
}

// uiConfig decodes the ui's config file strictly (TestEmbeddedConfigsPassCheck
// also runs `flowship check --for ui` on it).
func uiConfig(t *testing.T, objs []Object) uiConfigFile {
	t.Helper()
	cm := find[*corev1.ConfigMap](t, objs, "-ui")
	var f uiConfigFile
	if err := yaml.UnmarshalStrict([]byte(cm.Data[ConfigKey]), &f); err != nil {
		t.Fatalf("ui config: %v\n%s", err, cm.Data[ConfigKey])
	}
	return f
}

// TestChartUINotes: the install notes say how to reach the ui.
func TestChartUINotes(t *testing.T) {
	out, err := render(readValues(t, "minimal-values.yaml", "ui-elasticsearch-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	notes := out["flowship/templates/NOTES.txt"]
	for _, want := range []string{"port-forward deploy/flowship-ui 9090:9090", "https://localhost:9090/", "port 9465"} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, notes)
		}
	}
}
