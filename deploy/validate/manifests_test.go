package validate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite deploy/kubernetes ConfigMaps from deploy/examples")

const (
	plainDir    = "../kubernetes"
	examplesDir = "../examples"
)

// loadPlain decodes every manifest kustomization.yaml lists, strictly.
func loadPlain(t *testing.T) []Object {
	t.Helper()
	var objs []Object
	for _, f := range kustomizeResources(t) {
		data, err := os.ReadFile(filepath.Join(plainDir, f))
		if err != nil {
			t.Fatal(err)
		}
		o, err := Decode("deploy/kubernetes/"+f, data)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o...)
	}
	return objs
}

func kustomizeResources(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(plainDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	return k.Resources
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	listed := kustomizeResources(t)
	files, _ := filepath.Glob(filepath.Join(plainDir, "*.yaml"))
	for _, f := range files {
		name := filepath.Base(f)
		if name != "kustomization.yaml" && !slices.Contains(listed, name) {
			t.Errorf("deploy/kubernetes/%s is not listed in kustomization.yaml resources", name)
		}
	}
	for _, name := range listed {
		if _, err := os.Stat(filepath.Join(plainDir, name)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", name, err)
		}
	}
}

func TestPlainManifestsDecodeStrictly(t *testing.T) {
	got := map[string]int{}
	for _, o := range loadPlain(t) {
		got[o.Kind]++
	}
	want := map[string]int{"Namespace": 1, "PriorityClass": 1, "ServiceAccount": 4, "ConfigMap": 4,
		"DaemonSet": 1, "Deployment": 3, "PodDisruptionBudget": 2, "Job": 1, "Service": 2,
		"ClusterRole": 1, "ClusterRoleBinding": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: got %d objects, want %d", k, got[k], n)
		}
	}
}

func TestPlainManifestsInvariants(t *testing.T) {
	if err := Invariants(loadPlain(t)); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeRejects proves the strict decoder has teeth.
func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndatta: {}\n", "datta"},
		{"misplaced field", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          readOnlyRootFilesystem: true\n", "readOnlyRootFilesystem"},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two}\n", "replicas"},
		{"kind not deployed", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: x}\n", "kind \"Role\""},
		{"no name", "apiVersion: v1\nkind: Namespace\nmetadata: {}\n", "metadata.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("test.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestInvariantsCatchViolations breaks the collector and the indexer one
// way at a time and expects Invariants to name each break.
func TestInvariantsCatchViolations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(ds *appsv1.DaemonSet, d *appsv1.Deployment)
		want   string
	}{
		{"writable log mount", func(ds *appsv1.DaemonSet, _ *appsv1.Deployment) {
			c := &ds.Spec.Template.Spec.Containers[0]
			for i := range c.VolumeMounts {
				c.VolumeMounts[i].ReadOnly = false
			}
		}, "read-only"},
		{"writable root", func(ds *appsv1.DaemonSet, _ *appsv1.Deployment) {
			f := false
			ds.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = &f
		}, "readOnlyRootFilesystem"},
		{"escalation", func(ds *appsv1.DaemonSet, _ *appsv1.Deployment) {
			ds.Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
		}, "allowPrivilegeEscalation"},
		{"no liveness", func(ds *appsv1.DaemonSet, _ *appsv1.Deployment) {
			ds.Spec.Template.Spec.Containers[0].LivenessProbe = nil
		}, "livenessProbe"},
		{"no memory limit", func(ds *appsv1.DaemonSet, _ *appsv1.Deployment) {
			delete(ds.Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}, "resources.limits.memory"},
		{"node name literal", func(ds *appsv1.DaemonSet, _ *appsv1.Deployment) {
			ds.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "NODE_NAME", Value: "n1"}}
		}, "spec.nodeName"},
		{"no tolerations", func(ds *appsv1.DaemonSet, _ *appsv1.Deployment) {
			ds.Spec.Template.Spec.Tolerations = nil
		}, "every node"},
		{"too many indexers", func(_ *appsv1.DaemonSet, d *appsv1.Deployment) {
			n := int32(7)
			d.Spec.Replicas = &n
		}, "exceed topic_setup.partitions"},
		{"indexer as root", func(_ *appsv1.DaemonSet, d *appsv1.Deployment) {
			d.Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil
		}, "non-root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := loadPlain(t)
			var ds *appsv1.DaemonSet
			var d *appsv1.Deployment
			for _, o := range objs {
				switch v := o.Value.(type) {
				case *appsv1.DaemonSet:
					ds = v
				case *appsv1.Deployment:
					if v.Labels["app.kubernetes.io/component"] == "indexer" {
						d = v
					}
				}
			}
			tc.mutate(ds, d)
			err := Invariants(objs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestConfigMapsMatchExamples keeps one source of truth: the ConfigMaps
// of the plain manifests embed deploy/examples byte for byte. -update
// regenerates them.
func TestConfigMapsMatchExamples(t *testing.T) {
	for _, tc := range []struct{ manifest, example string }{
		{"collector-configmap.yaml", "collector.yaml"},
		{"cluster-configmap.yaml", "indexer.yaml"},
		{"receiver.yaml", "receiver.yaml"},
		{"ui.yaml", "ui.yaml"},
	} {
		t.Run(tc.manifest, func(t *testing.T) {
			example, err := os.ReadFile(filepath.Join(examplesDir, tc.example))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(plainDir, tc.manifest)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				data = replaceEmbedded(t, data, example)
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			objs, err := Decode(tc.manifest, data)
			if err != nil {
				t.Fatal(err)
			}
			cfgs := Configs(objs)
			if len(cfgs) != 1 {
				t.Fatalf("%s: want one ConfigMap with %s, got %d", tc.manifest, ConfigKey, len(cfgs))
			}
			if cfgs[0].Config != string(example) {
				t.Errorf("deploy/kubernetes/%s differs from deploy/examples/%s; edit the example and run go test -run TestConfigMapsMatchExamples -update", tc.manifest, tc.example)
			}
		})
	}
}

// replaceEmbedded swaps the block under "  flowship.yaml: |" for example,
// indented four spaces (blank lines stay empty), and keeps what follows
// the block: the block ends at the first non-blank line indented less
// than four spaces (the next key, or "---" and the next object of a
// multi-document manifest such as receiver.yaml).
func replaceEmbedded(t *testing.T, manifest, example []byte) []byte {
	t.Helper()
	marker := []byte("  " + ConfigKey + ": |\n")
	i := bytes.Index(manifest, marker)
	if i < 0 {
		t.Fatalf("no %q block to update", marker)
	}
	start := i + len(marker)
	end := start
	for end < len(manifest) {
		next := bytes.IndexByte(manifest[end:], '\n')
		lineEnd := len(manifest)
		if next >= 0 {
			lineEnd = end + next + 1
		}
		line := manifest[end:lineEnd]
		if len(bytes.TrimSpace(line)) != 0 && !bytes.HasPrefix(line, []byte("    ")) {
			break
		}
		end = lineEnd
	}
	// Blank lines at the block's end belong to what follows it.
	for end > start {
		prev := bytes.LastIndexByte(manifest[start:end-1], '\n')
		lineStart := start
		if prev >= 0 {
			lineStart = start + prev + 1
		}
		if len(bytes.TrimSpace(manifest[lineStart:end])) != 0 {
			break
		}
		end = lineStart
	}
	var b bytes.Buffer
	b.Write(manifest[:start])
	for _, line := range strings.SplitAfter(string(example), "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("    ")
		}
		b.WriteString(line)
	}
	b.Write(manifest[end:])
	return b.Bytes()
}

// TestReplaceEmbeddedKeepsWhatFollows: -update once cut receiver.yaml
// after its ConfigMap, deleting the Deployment and Service behind it.
func TestReplaceEmbeddedKeepsWhatFollows(t *testing.T) {
	manifest := "kind: ConfigMap\ndata:\n  " + ConfigKey + ": |\n    old: 1\n\n    older: 2\n\n---\nkind: Service\n"
	got := string(replaceEmbedded(t, []byte(manifest), []byte("new: 3\n\nnewer: 4\n")))
	want := "kind: ConfigMap\ndata:\n  " + ConfigKey + ": |\n    new: 3\n\n    newer: 4\n\n---\nkind: Service\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	last := "data:\n  " + ConfigKey + ": |\n    old: 1\n"
	if got := string(replaceEmbedded(t, []byte(last), []byte("new: 3\n"))); got != "data:\n  "+ConfigKey+": |\n    new: 3\n" {
		t.Errorf("block at the end of the file: got %q", got)
	}
}
