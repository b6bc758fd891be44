// Package validate checks flowship's deployment artefacts: the plain
// Kubernetes manifests, the Helm chart, the Dockerfile and the configs
// they embed. It is its own Go module so the Kubernetes and Helm
// dependencies never reach the main module's build. Run it with
//
//	cd deploy/validate && go test ./...
package validate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest with where it came from.
type Object struct {
	Source string // file (and document number) it was read from
	Kind   string
	Name   string
	Value  any // pointer to the typed k8s.io/api struct
}

// kinds maps apiVersion/kind to a constructor of its typed struct. A
// manifest of any other kind is an error, so adding a kind (an RBAC
// Role, say) is a deliberate change to this table and its review.
var kinds = map[string]func() any{
	"v1/Namespace":                       func() any { return &corev1.Namespace{} },
	"v1/ServiceAccount":                  func() any { return &corev1.ServiceAccount{} },
	"v1/ConfigMap":                       func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                          func() any { return &corev1.Secret{} }, // the ui's session key (ui-session.yaml)
	"v1/Service":                         func() any { return &corev1.Service{} },
	"apps/v1/DaemonSet":                  func() any { return &appsv1.DaemonSet{} },
	"apps/v1/Deployment":                 func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                       func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":      func() any { return &policyv1.PodDisruptionBudget{} },
	"scheduling.k8s.io/v1/PriorityClass": func() any { return &schedulingv1.PriorityClass{} },
	// The ui in kubernetes mode asks TokenReviews and SubjectAccessReviews (ui-auth.yaml).
	"rbac.authorization.k8s.io/v1/ClusterRole":        func() any { return &rbacv1.ClusterRole{} },
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding": func() any { return &rbacv1.ClusterRoleBinding{} },
}

// Decode splits a multi-document YAML stream and decodes every non-empty
// document strictly into its k8s.io/api type: an unknown or duplicated
// field is an error naming the source, the document and the field.
func Decode(source string, data []byte) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []Object
	var errs []error
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, n, err)
		}
		if isEmpty(doc) {
			continue
		}
		where := fmt.Sprintf("%s#%d", source, n)
		obj, err := decodeOne(where, doc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, obj)
	}
	return out, errors.Join(errs...)
}

func decodeOne(where string, doc []byte) (Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return Object{}, fmt.Errorf("%s: %w", where, err)
	}
	mk, ok := kinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return Object{}, fmt.Errorf("%s: apiVersion %q kind %q is not a kind flowship deploys; add it to validate.kinds if it should be", where, tm.APIVersion, tm.Kind)
	}
	v := mk()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return Object{}, fmt.Errorf("%s (%s): %w", where, tm.Kind, err)
	}
	var om struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	_ = yaml.Unmarshal(doc, &om)
	if om.Metadata.Name == "" {
		return Object{}, fmt.Errorf("%s (%s): metadata.name is empty", where, tm.Kind)
	}
	return Object{Source: where, Kind: tm.Kind, Name: om.Metadata.Name, Value: v}, nil
}

// isEmpty reports whether a YAML document holds only comments and blanks.
func isEmpty(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") && t != "---" {
			return false
		}
	}
	return true
}
