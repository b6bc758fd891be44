package validate

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

const chartDir = "../helm/flowship"

// valuesCase is one `helm template -f ... -f ...` invocation.
type valuesCase struct {
	name  string
	files []string // under the chart's ci/ directory, merged in order
}

var valuesCases = []valuesCase{
	{"defaults", []string{"minimal-values.yaml"}},
	{"sasl-tls", []string{"minimal-values.yaml", "sasl-tls-values.yaml"}},
	{"nonroot", []string{"minimal-values.yaml", "nonroot-values.yaml"}},
	{"receiver", []string{"minimal-values.yaml", "sasl-tls-values.yaml", "receiver-values.yaml"}},
	{"ui-elasticsearch", []string{"minimal-values.yaml", "ui-elasticsearch-values.yaml"}},
	{"ui-kubernetes", []string{"minimal-values.yaml", "ui-kubernetes-values.yaml"}},
}

// readValues merges value files like repeated -f flags (later wins, maps
// merged deeply).
func readValues(t *testing.T, files ...string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, f := range files {
		v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, "ci", f))
		if err != nil {
			t.Fatal(err)
		}
		mergeInto(out, v.AsMap())
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// render is `helm template` as a library: the chart's templates with
// the given values, install mode, namespace flowship.
func render(vals map[string]any) (map[string]string, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	rv, err := chartutil.ToRenderValues(ch, vals,
		chartutil.ReleaseOptions{Name: "flowship", Namespace: "flowship", IsInstall: true, Revision: 1},
		chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, rv)
}

// renderObjects renders and decodes every manifest strictly.
func renderObjects(t *testing.T, vals map[string]any) []Object {
	t.Helper()
	out, err := render(vals)
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(out))
	var objs []Object
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		o, err := Decode(name, []byte(out[name]))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o...)
	}
	return objs
}

func TestChartLint(t *testing.T) {
	for _, vc := range valuesCases {
		t.Run(vc.name, func(t *testing.T) {
			l := lint.All(chartDir, readValues(t, vc.files...), "flowship", false)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
		})
	}
}

func TestChartRendersValidManifests(t *testing.T) {
	for _, vc := range valuesCases {
		t.Run(vc.name, func(t *testing.T) {
			objs := renderObjects(t, readValues(t, vc.files...))
			if err := Invariants(objs); err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.Kind]++
			}
			for _, k := range []string{"DaemonSet", "Deployment", "Job", "PodDisruptionBudget", "ConfigMap", "ServiceAccount"} {
				if kinds[k] == 0 {
					t.Errorf("no %s rendered (got %v)", k, kinds)
				}
			}
		})
	}
}

// find returns the one object of type T whose name ends with suffix.
func find[T any](t *testing.T, objs []Object, suffix string) T {
	t.Helper()
	for _, o := range objs {
		if v, ok := o.Value.(T); ok && strings.HasSuffix(o.Name, suffix) {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T named *%s", zero, suffix)
	return zero
}

func TestChartValuesReachThePods(t *testing.T) {
	t.Run("sasl-tls", func(t *testing.T) {
		objs := renderObjects(t, readValues(t, "minimal-values.yaml", "sasl-tls-values.yaml"))
		ds := find[*appsv1.DaemonSet](t, objs, "-collector")
		secrets := map[string]string{}
		for _, v := range ds.Spec.Template.Spec.Volumes {
			if v.Secret != nil {
				secrets[v.Name] = v.Secret.SecretName
			}
		}
		if secrets["kafka-tls"] != "flowship-kafka-tls" || secrets["kafka-sasl"] != "flowship-kafka-sasl" {
			t.Errorf("collector secret volumes = %v", secrets)
		}
		args := strings.Join(ds.Spec.Template.Spec.Containers[0].Args, " ")
		if !strings.Contains(args, "--import-fluentd-pos /var/log/calico-fluentd/flows.log.pos") {
			t.Errorf("collector args %q lack the fluentd pos import", args)
		}
		job := find[*batchv1.Job](t, objs, "-setup")
		jargs := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
		if !strings.Contains(jargs, "--kafka") || !strings.Contains(jargs, "--kibana https://kibana.elastic-system.svc:5601") {
			t.Errorf("setup args %q", jargs)
		}
		if job.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" {
			t.Errorf("setup Job hook = %q; templates must exist before the indexer writes", job.Annotations["helm.sh/hook"])
		}
		cfgs := map[string]string{}
		for _, c := range Configs(objs) {
			cfgs[c.Object.Name] = c.Config
		}
		coll := cfgs["flowship-collector"]
		for _, want := range []string{"password_file: /etc/flowship/kafka-sasl/password", "cert_file: /etc/flowship/kafka-tls/tls.crt",
			"allowed: 3", "window: 10m", "drop-allowed-inside-kube-system", "batch_size: 500", "username: flowship\n"} {
			if !strings.Contains(coll, want) {
				t.Errorf("collector config lacks %q:\n%s", want, coll)
			}
		}
		cl := cfgs["flowship-cluster"]
		for _, want := range []string{"username: flowship-indexer", "password_file: /etc/flowship/es/password", "retention_days: 15", "mode: calico", "partitions: 12"} {
			if !strings.Contains(cl, want) {
				t.Errorf("cluster config lacks %q:\n%s", want, cl)
			}
		}
	})
	t.Run("collector memory", func(t *testing.T) {
		// Issue 12: the collector's Go soft limit follows its container's
		// memory limit, and max_open_keys keeps the live heap well under it.
		objs := renderObjects(t, readValues(t, "minimal-values.yaml"))
		ds := find[*appsv1.DaemonSet](t, objs, "-collector")
		c := ds.Spec.Template.Spec.Containers[0]
		var ref *corev1.ResourceFieldSelector
		for _, e := range c.Env {
			if e.Name == "FLOWSHIP_MEMORY_LIMIT" && e.ValueFrom != nil {
				ref = e.ValueFrom.ResourceFieldRef
			}
		}
		if ref == nil || ref.Resource != "limits.memory" || ref.ContainerName != c.Name {
			t.Errorf("collector env FLOWSHIP_MEMORY_LIMIT = %+v, want a resourceFieldRef of its own limits.memory", ref)
		}
		if lim := c.Resources.Limits.Memory(); lim.Value() > 256<<20 {
			t.Errorf("collector memory limit %s, want at most 256Mi", lim)
		}
		cfgs := map[string]string{}
		for _, c := range Configs(objs) {
			cfgs[c.Object.Name] = c.Config
		}
		for _, want := range []string{"max_open_keys: 30000", "allowed_lateness: 0s", "max_inflight_batches: 4"} {
			if coll := cfgs["flowship-collector"]; !strings.Contains(coll, want) {
				t.Errorf("collector config lacks %q:\n%s", want, coll)
			}
		}
	})
	t.Run("nonroot", func(t *testing.T) {
		objs := renderObjects(t, readValues(t, "minimal-values.yaml", "nonroot-values.yaml"))
		ds := find[*appsv1.DaemonSet](t, objs, "-collector")
		sc := ds.Spec.Template.Spec.SecurityContext
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
			t.Errorf("collector pod securityContext = %+v, want non-root 65532", sc)
		}
		if fmt.Sprint(sc.SupplementalGroups) != "[2000]" {
			t.Errorf("supplementalGroups = %v", sc.SupplementalGroups)
		}
		if len(ds.Spec.Template.Spec.InitContainers) != 1 {
			t.Fatalf("want the state-owner init container, got %d", len(ds.Spec.Template.Spec.InitContainers))
		}
		if got := ds.Spec.Template.Spec.PriorityClassName; got != "system-node-critical" {
			t.Errorf("priorityClassName = %q", got)
		}
		for _, o := range objs {
			if o.Kind == "PriorityClass" {
				t.Errorf("createPriorityClass false still rendered %s", o.Name)
			}
		}
	})
}

// TestChartRefuses covers the values the chart must reject at render time
// with a message that says what to set.
func TestChartRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"no brokers", map[string]any{"kafka": map[string]any{"brokers": []any{}}}, "kafka.brokers"},
		{"no elasticsearch", map[string]any{"elasticsearch": map[string]any{"urls": []any{}}}, "elasticsearch.urls"},
		{"idle indexers", map[string]any{"indexer": map[string]any{"replicas": 7}}, "exceeds kafka.topicSetup.partitions"},
		{"sasl without secret", map[string]any{"kafka": map[string]any{"sasl": map[string]any{"mechanism": "plain"}}}, "secretName: name the Secret holding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := readValues(t, "minimal-values.yaml")
			mergeInto(vals, tc.set)
			_, err := render(vals)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestChartValuesFilesExist(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	var used []string
	for _, vc := range valuesCases {
		used = append(used, vc.files...)
	}
	for _, f := range files {
		if !slices.Contains(used, filepath.Base(f)) {
			t.Errorf("%s is not used by any values case", f)
		}
	}
}
