package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

const buildVersion = "validate-test"

// flowship builds the binary once, with deploy/docker/build-binary.sh, so
// the binary under test is built exactly as the image's is.
func flowship(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flowship-validate-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "flowship")
		cmd := exec.Command("bash", "../docker/build-binary.sh")
		cmd.Env = append(os.Environ(), "OUT="+binPath, "VERSION="+buildVersion)
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("deploy/docker/build-binary.sh: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func TestBuildScriptStampsVersion(t *testing.T) {
	out, err := exec.Command(flowship(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("flowship version: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "flowship "+buildVersion {
		t.Fatalf("flowship version = %q, want %q: -X main.version did not take", got, "flowship "+buildVersion)
	}
}

// check runs `flowship check --for cmd` on config text.
func check(t *testing.T, name, config, cmd string) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flowship.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(flowship(t), "check", "--for", cmd, "--config", path)
	c.Env = append(os.Environ(), "NODE_NAME=validate-node")
	out, err := c.CombinedOutput()
	return string(out), err
}

// TestEmbeddedConfigsPassCheck runs `flowship check` over every config
// the plain manifests and the chart (each values case) put in a ConfigMap,
// for each subcommand that reads it.
func TestEmbeddedConfigsPassCheck(t *testing.T) {
	sets := map[string][]Object{"kubernetes": loadPlain(t)}
	for _, vc := range valuesCases {
		sets["helm-"+vc.name] = renderObjects(t, readValues(t, vc.files...))
	}
	for set, objs := range sets {
		cfgs := Configs(objs)
		if len(cfgs) < 2 {
			t.Fatalf("%s: found %d embedded configs, want the collector's and the cluster's", set, len(cfgs))
		}
		for _, c := range cfgs {
			for _, cmd := range c.For {
				t.Run(set+"/"+c.Object.Name+"/"+cmd, func(t *testing.T) {
					out, err := check(t, c.Object.Source, c.Config, cmd)
					if err != nil {
						t.Fatalf("flowship check --for %s on ConfigMap %s (%s): %v\n%s", cmd, c.Object.Name, c.Object.Source, err, out)
					}
					if !strings.Contains(out, ": ok") {
						t.Fatalf("flowship check printed %q, want an ok line", out)
					}
				})
			}
		}
	}
}

// TestCheckRejectsBrokenConfig proves the check above can fail: the
// collector ConfigMap with a window that does not divide 24h.
func TestCheckRejectsBrokenConfig(t *testing.T) {
	for _, c := range Configs(loadPlain(t)) {
		if c.For[0] != "collect" {
			continue
		}
		broken := strings.Replace(c.Config, "window: 5m", "window: 7m", 1)
		if broken == c.Config {
			t.Fatal("collector config has no 'window: 5m' to break; update this test")
		}
		out, err := check(t, "broken", broken, "collect")
		if err == nil || !strings.Contains(out, "window") {
			t.Fatalf("check accepted window 7m: err %v, output %q", err, out)
		}
		return
	}
	t.Fatal("no collector config found")
}
