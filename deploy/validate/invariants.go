package validate

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// CalicoLogDir is where Felix writes; the collector must only read there.
const CalicoLogDir = "/var/log/calico"

// ConfigKey is the ConfigMap key that holds a flowship config file.
const ConfigKey = "flowship.yaml"

// Invariants checks what every flowship deployment must hold, whatever
// renders it (plain manifests or the chart with any values):
//   - every container (init containers too): read-only root filesystem,
//     no privilege escalation, not privileged, all capabilities dropped,
//     resource requests and limits for cpu and memory;
//   - every long-running container: /readyz and /healthz probes;
//   - the collector: hostPath mounts under /var/log/calico read-only,
//     NODE_NAME from fieldRef spec.nodeName, a toleration for every taint,
//     a priority class, no service account token;
//   - the ui (component label ui): non-root;
//   - the indexer: non-root, replicas no more than the partitions set in
//     its config (topic_setup.partitions), a PodDisruptionBudget;
//   - no service account mounts an API token (no component needs one).
func Invariants(objs []Object) error {
	var errs []error
	add := func(o Object, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s %s (%s): %s", o.Kind, o.Name, o.Source, fmt.Sprintf(format, a...)))
	}
	var daemonSets, deployments, pdbs int
	configs := configMaps(objs)
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *appsv1.DaemonSet:
			daemonSets++
			checkPod(o, &v.Spec.Template.Spec, true, add)
			checkCollector(o, &v.Spec.Template.Spec, add)
		case *appsv1.Deployment:
			deployments++
			checkPod(o, &v.Spec.Template.Spec, true, add)
			if v.Labels["app.kubernetes.io/component"] == "ui" {
				checkUI(o, v, add)
			} else {
				checkIndexer(o, v, configs, add)
			}
		case *batchv1.Job:
			checkPod(o, &v.Spec.Template.Spec, false, add)
		case *policyv1.PodDisruptionBudget:
			pdbs++
			if v.Spec.MaxUnavailable == nil || v.Spec.MaxUnavailable.IntValue() != 1 {
				add(o, "maxUnavailable must be 1")
			}
		case *corev1.ServiceAccount:
			if v.AutomountServiceAccountToken == nil || *v.AutomountServiceAccountToken {
				add(o, "automountServiceAccountToken must be false: no flowship component calls the Kubernetes API")
			}
		}
	}
	if deployments > 0 && pdbs == 0 {
		errs = append(errs, errors.New("the indexer Deployment has no PodDisruptionBudget"))
	}
	if daemonSets+deployments == 0 {
		errs = append(errs, errors.New("no DaemonSet or Deployment found: nothing was checked"))
	}
	return errors.Join(errs...)
}

type addFunc func(o Object, format string, a ...any)

func checkPod(o Object, spec *corev1.PodSpec, longRunning bool, add addFunc) {
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		add(o, "pod automountServiceAccountToken must be false")
	}
	all := append(slices.Clone(spec.InitContainers), spec.Containers...)
	for _, c := range all {
		checkContainerSecurity(o, c, add)
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				add(o, "container %s: resources.requests.%s is not set", c.Name, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				add(o, "container %s: resources.limits.%s is not set", c.Name, r)
			}
		}
	}
	if !longRunning {
		return
	}
	for _, c := range spec.Containers {
		if !httpProbe(c.ReadinessProbe, "/readyz") {
			add(o, "container %s: readinessProbe must GET /readyz", c.Name)
		}
		if !httpProbe(c.LivenessProbe, "/healthz") {
			add(o, "container %s: livenessProbe must GET /healthz", c.Name)
		}
	}
}

func checkContainerSecurity(o Object, c corev1.Container, add addFunc) {
	sc := c.SecurityContext
	if sc == nil {
		add(o, "container %s: securityContext is missing", c.Name)
		return
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		add(o, "container %s: readOnlyRootFilesystem must be true", c.Name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		add(o, "container %s: allowPrivilegeEscalation must be false", c.Name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		add(o, "container %s: must not be privileged", c.Name)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		add(o, "container %s: capabilities.drop must contain ALL", c.Name)
	}
}

func httpProbe(p *corev1.Probe, path string) bool {
	return p != nil && p.HTTPGet != nil && p.HTTPGet.Path == path
}

func checkCollector(o Object, spec *corev1.PodSpec, add addFunc) {
	hostPaths := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	if len(hostPaths) == 0 {
		add(o, "no hostPath volume: the collector reads Felix's logs from the node")
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		for _, m := range c.VolumeMounts {
			p, ok := hostPaths[m.Name]
			if ok && strings.HasPrefix(p, CalicoLogDir) && !m.ReadOnly {
				add(o, "container %s mounts %s (hostPath %s) writable; Calico's logs must be read-only", c.Name, m.Name, p)
			}
		}
	}
	for _, c := range spec.Containers {
		if !nodeNameFromDownwardAPI(c.Env) {
			add(o, "container %s: NODE_NAME must come from fieldRef spec.nodeName", c.Name)
		}
	}
	if !slices.ContainsFunc(spec.Tolerations, func(t corev1.Toleration) bool {
		return t.Key == "" && t.Operator == corev1.TolerationOpExists
	}) {
		add(o, "needs a toleration {operator: Exists} to run on every node")
	}
	if spec.PriorityClassName == "" {
		add(o, "priorityClassName is not set")
	}
}

func nodeNameFromDownwardAPI(env []corev1.EnvVar) bool {
	for _, e := range env {
		if e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
			return true
		}
	}
	return false
}

func checkIndexer(o Object, d *appsv1.Deployment, configs map[string]string, add addFunc) {
	sc := d.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		add(o, "the indexer needs no node access and must run as non-root")
	}
	cm := ""
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "config" && v.ConfigMap != nil {
			cm = v.ConfigMap.Name
		}
	}
	src, ok := configs[cm]
	if !ok {
		add(o, "its config volume names ConfigMap %q, which is not among the manifests", cm)
		return
	}
	var cfg struct {
		TopicSetup struct {
			Partitions *int `json:"partitions"`
		} `json:"topic_setup"`
	}
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		add(o, "ConfigMap %s: %v", cm, err)
		return
	}
	if cfg.TopicSetup.Partitions == nil {
		add(o, "ConfigMap %s must document the partition count (topic_setup.partitions) the replicas are bounded by", cm)
		return
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	if int(replicas) > *cfg.TopicSetup.Partitions {
		add(o, "replicas %d exceed topic_setup.partitions %d: the extra consumers would sit idle", replicas, *cfg.TopicSetup.Partitions)
	}
}

// checkUI: the ui reads Elasticsearch only and must run as non-root.
func checkUI(o Object, d *appsv1.Deployment, add addFunc) {
	sc := d.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		add(o, "the ui needs no node access and must run as non-root")
	}
}

// configMaps returns the flowship config of every ConfigMap by name.
func configMaps(objs []Object) map[string]string {
	out := map[string]string{}
	for _, o := range objs {
		if cm, ok := o.Value.(*corev1.ConfigMap); ok {
			if s, ok := cm.Data[ConfigKey]; ok {
				out[cm.Name] = s
			}
		}
	}
	return out
}

// Configs returns the flowship config files embedded in ConfigMaps, with
// the subcommands each serves (from the ConfigMap's component label):
// collector → collect; receiver → receive; ui → ui; indexer and setup →
// index and setup.
func Configs(objs []Object) []EmbeddedConfig {
	var out []EmbeddedConfig
	for _, o := range objs {
		cm, ok := o.Value.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		s, ok := cm.Data[ConfigKey]
		if !ok {
			continue
		}
		cmds := []string{"index", "setup"}
		switch cm.Labels["app.kubernetes.io/component"] {
		case "collector":
			cmds = []string{"collect"}
		case "receiver":
			cmds = []string{"receive"}
		case "ui":
			cmds = []string{"ui"}
		}
		out = append(out, EmbeddedConfig{Object: o, Config: s, For: cmds})
	}
	return out
}

// EmbeddedConfig is a flowship config file found in a ConfigMap.
type EmbeddedConfig struct {
	Object Object
	Config string   // the file's text
	For    []string // subcommands to check it for (flowship check --for)
}
