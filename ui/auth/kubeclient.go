package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// The parts of authentication.k8s.io/v1 TokenReview and
// authorization.k8s.io/v1 SubjectAccessReview that flowship sends and
// reads, with the JSON names of k8s.io/api (not imported: it would bring
// k8s.io/apimachinery and its dependencies into the module for five structs).
type (
	tokenReview struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Spec       tokenReviewSpec   `json:"spec"`
		Status     tokenReviewStatus `json:"status,omitempty"`
	}
	tokenReviewSpec struct {
		Token     string   `json:"token"`
		Audiences []string `json:"audiences,omitempty"`
	}
	tokenReviewStatus struct {
		Authenticated bool     `json:"authenticated,omitempty"`
		User          userInfo `json:"user,omitempty"`
		Error         string   `json:"error,omitempty"`
	}
	userInfo struct {
		Username string              `json:"username,omitempty"`
		UID      string              `json:"uid,omitempty"`
		Groups   []string            `json:"groups,omitempty"`
		Extra    map[string][]string `json:"extra,omitempty"`
	}
	subjectAccessReview struct {
		APIVersion string                    `json:"apiVersion"`
		Kind       string                    `json:"kind"`
		Spec       subjectAccessReviewSpec   `json:"spec"`
		Status     subjectAccessReviewStatus `json:"status,omitempty"`
	}
	subjectAccessReviewSpec struct {
		ResourceAttributes *resourceAttributes `json:"resourceAttributes,omitempty"`
		User               string              `json:"user,omitempty"`
		Groups             []string            `json:"groups,omitempty"`
		Extra              map[string][]string `json:"extra,omitempty"`
		UID                string              `json:"uid,omitempty"`
	}
	resourceAttributes struct {
		Namespace string `json:"namespace,omitempty"`
		Verb      string `json:"verb,omitempty"`
		Group     string `json:"group,omitempty"`
		Resource  string `json:"resource,omitempty"`
		Name      string `json:"name,omitempty"`
	}
	subjectAccessReviewStatus struct {
		Allowed         bool   `json:"allowed"`
		Denied          bool   `json:"denied,omitempty"`
		Reason          string `json:"reason,omitempty"`
		EvaluationError string `json:"evaluationError,omitempty"`
	}
	// objectList is any List answer; only the names are read.
	objectList struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
		Metadata struct {
			Continue string `json:"continue"`
		} `json:"metadata"`
	}
)

// KubeClient is the minimal Kubernetes API client of kubernetes mode:
// TokenReview, SubjectAccessReview and listing the names of namespaces
// and Calico tiers, with flowship's own service account token.
type KubeClient struct {
	base      string
	http      *http.Client
	tokenFile string
	token     string // fixed token (tests); tokenFile is read otherwise
}

// NewKubeClient returns a client for cfg (CA bundle loaded now; the token
// file is read on every call so rotation is picked up).
func NewKubeClient(cfg KubeConfig) (*KubeClient, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ui.auth.kubernetes.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ui.auth.kubernetes.ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &KubeClient{base: strings.TrimSuffix(cfg.APIServer, "/"), http: &http.Client{Transport: tr, Timeout: cfg.Timeout},
		tokenFile: cfg.TokenFile}, nil
}

// NewKubeClientForTest returns a client of base (an httptest server) with
// a fixed token of flowship's own.
func NewKubeClientForTest(base string, c *http.Client, token string) *KubeClient {
	return &KubeClient{base: strings.TrimSuffix(base, "/"), http: c, token: token}
}

func (k *KubeClient) ownToken() (string, error) {
	if k.token != "" {
		return k.token, nil
	}
	b, err := os.ReadFile(k.tokenFile)
	if err != nil {
		return "", fmt.Errorf("ui.auth.kubernetes.token_file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// do sends one request with flowship's token and decodes a 2xx answer
// into out. Every failure is errUnavailable: the caller denies.
func (k *KubeClient) do(ctx context.Context, method, path string, in, out any) error {
	tok, err := k.ownToken()
	if err != nil {
		return errUnavailable{err}
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return errUnavailable{err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.base+path, body)
	if err != nil {
		return errUnavailable{err}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := k.http.Do(req)
	if err != nil {
		return errUnavailable{fmt.Errorf("kubernetes API %s %s: %w", method, path, err)}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return errUnavailable{fmt.Errorf("kubernetes API %s %s: %w", method, path, err)}
	}
	if res.StatusCode/100 != 2 {
		var st struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &st)
		hint := ""
		if res.StatusCode == http.StatusForbidden || res.StatusCode == http.StatusUnauthorized {
			hint = " (flowship's service account needs create on tokenreviews and subjectaccessreviews and list on namespaces and tiers; see docs/security.md)"
		}
		return errUnavailable{fmt.Errorf("kubernetes API %s %s: %d %s%s", method, path, res.StatusCode, st.Message, hint)}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return errUnavailable{fmt.Errorf("kubernetes API %s %s: decoding the answer: %w", method, path, err)}
	}
	return nil
}

// reviewToken asks the API server who token belongs to. A token it does
// not accept (revoked, expired, unknown) is ErrUnauthenticated.
func (k *KubeClient) reviewToken(ctx context.Context, token string) (userInfo, error) {
	var out tokenReview
	in := tokenReview{APIVersion: "authentication.k8s.io/v1", Kind: "TokenReview", Spec: tokenReviewSpec{Token: token}}
	if err := k.do(ctx, http.MethodPost, "/apis/authentication.k8s.io/v1/tokenreviews", in, &out); err != nil {
		return userInfo{}, err
	}
	if !out.Status.Authenticated || out.Status.User.Username == "" {
		reason := out.Status.Error
		if reason == "" {
			reason = "token not authenticated"
		}
		return userInfo{}, fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
	}
	return out.Status.User, nil
}

// allowed asks whether u may do attr.
func (k *KubeClient) allowed(ctx context.Context, u userInfo, attr resourceAttributes) (bool, error) {
	var out subjectAccessReview
	in := subjectAccessReview{APIVersion: "authorization.k8s.io/v1", Kind: "SubjectAccessReview", Spec: subjectAccessReviewSpec{
		ResourceAttributes: &attr, User: u.Username, Groups: u.Groups, Extra: u.Extra, UID: u.UID}}
	if err := k.do(ctx, http.MethodPost, "/apis/authorization.k8s.io/v1/subjectaccessreviews", in, &out); err != nil {
		return false, err
	}
	return out.Status.Allowed && !out.Status.Denied, nil
}

// names lists the object names at path (all pages).
func (k *KubeClient) names(ctx context.Context, path string) ([]string, error) {
	var names []string
	cont := ""
	for range 1000 {
		p := path + "?limit=500"
		if cont != "" {
			p += "&continue=" + url.QueryEscape(cont)
		}
		var out objectList
		if err := k.do(ctx, http.MethodGet, p, nil, &out); err != nil {
			return nil, err
		}
		for _, it := range out.Items {
			names = append(names, it.Metadata.Name)
		}
		if cont = out.Metadata.Continue; cont == "" {
			return names, nil
		}
	}
	return nil, errUnavailable{fmt.Errorf("kubernetes API GET %s: more than 1000 pages", path)}
}
