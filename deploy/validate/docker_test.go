package validate

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// shellWords splits a command line on blanks, keeping "double-quoted"
// words whole (enough for one go build line; no escapes).
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			inWord = true
		case (r == ' ' || r == '\t') && !inQuote:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// goBuild returns the words of the one line in file that runs go build,
// without a leading RUN and without the -o argument (output paths differ).
func goBuild(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.Contains(l, "go build") && !strings.HasPrefix(l, "#") {
			lines = append(lines, strings.TrimPrefix(l, "RUN "))
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%s: want exactly one go build line, found %d: %q", file, len(lines), lines)
	}
	w := shellWords(lines[0])
	if i := slices.Index(w, "-o"); i >= 0 && i+1 < len(w) {
		w = slices.Delete(w, i, i+2)
	}
	return w
}

func TestDockerfileAndScriptBuildAlike(t *testing.T) {
	docker := goBuild(t, "../docker/Dockerfile")
	script := goBuild(t, "../docker/build-binary.sh")
	if !slices.Equal(docker, script) {
		t.Fatalf("go build differs:\n  Dockerfile:      %q\n  build-binary.sh: %q", docker, script)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags", "./cmd/flowship"} {
		if !slices.Contains(docker, want) {
			t.Errorf("go build lacks %s: %q", want, docker)
		}
	}
	i := slices.Index(docker, "-ldflags")
	if i < 0 || i+1 >= len(docker) || !regexp.MustCompile(`^-s -w -X main\.version=\$\{VERSION\}$`).MatchString(docker[i+1]) {
		t.Errorf("-ldflags must be \"-s -w -X main.version=${VERSION}\", got %q", docker)
	}
}

func TestShellWords(t *testing.T) {
	got := shellWords(`A=1 go  build -ldflags "-s -w" -o x ./p`)
	want := []string{"A=1", "go", "build", "-ldflags", "-s -w", "-o", "x", "./p"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestDockerfile checks the image's contract: builder on the Go version
// go.mod names, a non-root default user, the OCI labels.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(gomod))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if !strings.Contains(df, "ARG GO_VERSION="+m[1]+"\n") {
		t.Errorf("Dockerfile GO_VERSION does not match go.mod's go %s", m[1])
	}
	if !regexp.MustCompile(`(?m)^FROM golang:\$\{GO_VERSION\} AS build$`).MatchString(df) {
		t.Error("builder stage must be FROM golang:${GO_VERSION} AS build")
	}
	users := regexp.MustCompile(`(?m)^USER (\S+)$`).FindAllStringSubmatch(df, -1)
	if len(users) == 0 || users[len(users)-1][1] != "65532:65532" {
		t.Errorf("final USER must be 65532:65532 (non-root), got %v", users)
	}
	for _, l := range []string{"version", "revision", "source", "title", "licenses"} {
		if !strings.Contains(df, "org.opencontainers.image."+l+"=") {
			t.Errorf("Dockerfile lacks the OCI label org.opencontainers.image.%s", l)
		}
	}
}
