package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The deployment files are checked here on every test run, Docker engine or not (`make test`
// also runs `docker compose config` where there is one).

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       string            `yaml:"build"`
		Restart     string            `yaml:"restart"`
		Environment map[string]string `yaml:"environment"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Ports []string `yaml:"ports"`
	} `yaml:"services"`
}

func TestComposeFileRestartsAndWaitsForRealReadiness(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(raw, &c), "docker-compose.yml is valid YAML of the expected shape")

	require.Contains(t, c.Services, "postgres")
	require.Contains(t, c.Services, "uss")
	for name, s := range c.Services {
		require.Equal(t, "unless-stopped", s.Restart, "service %s comes back after a crash or a host restart", name)
		require.NotEmpty(t, s.Healthcheck.Test, "service %s has a healthcheck", name)
		for _, p := range s.Ports {
			require.True(t, strings.HasPrefix(p, "127.0.0.1:"), "service %s publishes on loopback only: %s", name, p)
		}
	}
	pg := strings.Join(c.Services["postgres"].Healthcheck.Test, " ")
	require.Contains(t, pg, "-h 127.0.0.1", "PostgreSQL is probed over TCP, which the first-start temporary server does not listen on")
	require.Contains(t, pg, "SELECT 1", "and must answer a query")

	uss := c.Services["uss"]
	require.Equal(t, ".", uss.Build)
	require.Equal(t, []string{"CMD", "/uss-server", "healthcheck"}, uss.Healthcheck.Test)
	require.Equal(t, "service_healthy", uss.DependsOn["postgres"].Condition)
	require.Contains(t, uss.Environment["USS_DATABASE_URL"], "@postgres:5432/")
}

func TestDockerfileProbesReadinessWithoutCurlAndBuildsOnlyWhatItShips(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	dockerfile := string(raw)
	require.Contains(t, dockerfile, `HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/uss-server", "healthcheck"]`)
	for _, line := range strings.Split(dockerfile, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		require.NotContains(t, line, "curl", "the runtime image has no curl")
		require.NotContains(t, line, "go mod download", "downloading every module pulls the test-only ones")
	}

	ignore, err := os.ReadFile("../../.dockerignore")
	require.NoError(t, err)
	var allowed []string
	lines := strings.Split(string(ignore), "\n")
	require.Contains(t, lines, "*", "the context starts empty")
	for _, l := range lines {
		if strings.HasPrefix(l, "!") {
			allowed = append(allowed, strings.TrimSuffix(strings.TrimPrefix(l, "!"), "/"))
		}
	}
	for _, secret := range []string{".git", "bin", ".uss-dev-key", "integrations", "test-artifacts"} {
		require.NotContains(t, allowed, secret, "%s stays out of the image build", secret)
	}

	// Every directory of this module that uss-server is built from (its packages and their
	// embedded files) must reach the build context, or the image cannot build.
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	require.NoError(t, err)
	dirs, err := exec.Command("go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{.Dir}}{{end}}`, "../uss-server").CombinedOutput()
	require.NoError(t, err, "%s", dirs)
	for _, dir := range strings.Fields(string(dirs)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(dir, strings.TrimSpace(string(root))), "/")
		top, _, _ := strings.Cut(rel, "/")
		require.Contains(t, allowed, top, ".dockerignore lets %s into the build context: uss-server is built from it", rel)
	}
	for _, file := range []string{"go.mod", "go.sum"} {
		require.Contains(t, allowed, file)
	}

	// What `go build ./cmd/uss-server` fetches: the test-only modules must not be among them.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "../uss-server").CombinedOutput()
	require.NoError(t, err, "%s", out)
	modules := string(out)
	require.Contains(t, modules, "github.com/jackc/pgx/v5")
	for _, testOnly := range []string{"testcontainers", "moby", "docker", "stretchr/testify"} {
		require.NotContains(t, modules, testOnly, "uss-server's build needs no %s", testOnly)
	}
}

func TestReadyzURLProbesAWildcardListenAddressOnLoopback(t *testing.T) {
	t.Parallel()
	for listen, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		":9090":          "http://127.0.0.1:9090/readyz",
		"[::]:8080":      "http://127.0.0.1:8080/readyz",
		"127.0.0.1:8081": "http://127.0.0.1:8081/readyz",
		"10.0.0.5:8080":  "http://10.0.0.5:8080/readyz",
	} {
		require.Equal(t, want, readyzURL(listen), listen)
	}
}
