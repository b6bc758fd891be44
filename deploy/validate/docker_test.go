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

// TestImageBinaryBuild: the image holds the binary build-binary.sh makes
// (static, trimmed, version stamped); the image build runs that script and
// nothing else compiles.
func TestImageBinaryBuild(t *testing.T) {
	script := goBuild(t, "../docker/build-binary.sh")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags", "./cmd/flowship"} {
		if !slices.Contains(script, want) {
			t.Errorf("go build lacks %s: %q", want, script)
		}
	}
	i := slices.Index(script, "-ldflags")
	if i < 0 || i+1 >= len(script) || !regexp.MustCompile(`^-s -w -X main\.version=\$\{VERSION\}$`).MatchString(script[i+1]) {
		t.Errorf("-ldflags must be \"-s -w -X main.version=${VERSION}\", got %q", script)
	}
	img, err := os.ReadFile("../docker/build-image.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^OUT=\S+ VERSION=\S+ bash deploy/docker/build-binary\.sh$`).Match(img) {
		t.Error("build-image.sh must build the binary with deploy/docker/build-binary.sh")
	}
	df, err := os.ReadFile("../docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(df), "go build") || strings.Contains(string(df), "RUN ") {
		t.Error("the Dockerfile must not build or run anything (FROM scratch has no shell)")
	}
}

func TestShellWords(t *testing.T) {
	got := shellWords(`A=1 go  build -ldflags "-s -w" -o x ./p`)
	want := []string{"A=1", "go", "build", "-ldflags", "-s -w", "-o", "x", "./p"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestDockerfile checks the image's contract: FROM scratch only (nothing is
// pulled), the files build-image.sh puts in the context, a non-root default
// user, the OCI labels.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	froms := regexp.MustCompile(`(?m)^FROM (.+)$`).FindAllStringSubmatch(df, -1)
	if len(froms) != 1 || froms[0][1] != "scratch" {
		t.Errorf("want one stage, FROM scratch; got %v", froms)
	}
	script, err := os.ReadFile("../docker/build-image.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^COPY (\S+) (\S+)$`).FindAllStringSubmatch(df, -1) {
		if !strings.Contains(string(script), `"$ctx/`+m[1]+`"`) && !strings.Contains(string(script), `$ctx/`+m[1]+` `) {
			t.Errorf("Dockerfile copies %s, which build-image.sh does not put in the context", m[1])
		}
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
