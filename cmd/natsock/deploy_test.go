package main

// The deployment examples (the Dockerfile and deploy/) are read here by
// what reads them in production, as far as that runs without a container
// engine or a cluster: BuildKit's Dockerfile parser and linter, the
// Compose loader with its schema, the Kubernetes API types decoded
// strictly, nats-server's config parser, nginx -t and systemd-analyze
// verify. Every NATSOCK_ variable and flag they give natsock must be a
// setting, and their values must pass natsock check, so that the examples
// cannot drift from the settings table.

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/nats-io/nats-server/v2/server"
	natsserver "github.com/nats-io/nats-server/v2/test"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
	"github.com/natsock/natsock/protocol/engine"
)

// repoRoot is the module's root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkSettings checks what a deployment file gives natsock serve: every
// NATSOCK_ variable of env and every flag of args (which start with
// "serve") is a setting, and together they pass natsock check. Other
// variables are not natsock's and are left alone.
func checkSettings(t *testing.T, where string, env map[string]string, args []string) {
	t.Helper()
	if len(args) == 0 || args[0] != "serve" {
		t.Errorf("%s: runs natsock %q, want natsock serve", where, args)
		return
	}
	serveFlags := commandFlags(t, "serve")
	for _, a := range args[1:] {
		f, isFlag := strings.CutPrefix(a, "--")
		f, _, _ = strings.Cut(f, "=")
		if isFlag && !slices.Contains(serveFlags, f) {
			t.Errorf("%s: --%s is not a flag of natsock serve", where, f)
		}
	}
	ours := make(map[string]string)
	for k, v := range env {
		if !strings.HasPrefix(k, "NATSOCK_") {
			continue
		}
		if !knownEnv(k) {
			t.Errorf("%s: %s is not a natsock setting (natsock serve --help lists them)", where, k)
			continue
		}
		ours[k] = v
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "NATSOCK_") || strings.HasPrefix(k, "NATS_") {
			t.Setenv(k, "") // an empty variable counts as unset
		}
	}
	for k, v := range ours {
		t.Setenv(k, v)
	}
	code, out := runApp(t, append([]string{"check"}, args[1:]...)...)
	for k := range ours {
		t.Setenv(k, "")
	}
	if code != 0 || strings.TrimSpace(out) != "ok" {
		t.Errorf("%s: natsock check with its settings exited %d:\n%s", where, code, out)
	}
}

// heartbeat is how long natsock lets a connection be quiet with these
// settings: ping interval plus ping timeout. A proxy in front must wait
// longer before it cuts an idle connection.
func heartbeat(t *testing.T, env map[string]string) time.Duration {
	t.Helper()
	get := func(name string, def time.Duration) time.Duration {
		v, ok := env[name]
		if !ok {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return d
	}
	return get("NATSOCK_PING_INTERVAL", engine.DefaultPingInterval) + get("NATSOCK_PING_TIMEOUT", engine.DefaultPingTimeout)
}

// shutdownTimeout is NATSOCK_SHUTDOWN_TIMEOUT in env, or the default.
func shutdownTimeout(t *testing.T, env map[string]string) time.Duration {
	t.Helper()
	v, ok := env["NATSOCK_SHUTDOWN_TIMEOUT"]
	if !ok {
		return bridge.DefaultShutdownTimeout
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("NATSOCK_SHUTDOWN_TIMEOUT=%q: %v", v, err)
	}
	return d
}

// listenPort is the port of NATSOCK_LISTEN in env, or of the default.
func listenPort(t *testing.T, env map[string]string) int {
	t.Helper()
	listen := bridge.DefaultListen
	if v, ok := env["NATSOCK_LISTEN"]; ok {
		listen = v
	}
	_, p, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("NATSOCK_LISTEN=%q: %v", listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("NATSOCK_LISTEN=%q: %v", listen, err)
	}
	return port
}

// checkRecoveryReplicas checks that the recovery stream's replicas, when
// recovery is on, fit on the NATS servers there are.
func checkRecoveryReplicas(t *testing.T, where string, env map[string]string, servers int) {
	t.Helper()
	if env["NATSOCK_RECOVERY"] != "true" {
		return
	}
	replicas := 1
	if v, ok := env["NATSOCK_RECOVERY_REPLICAS"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s: NATSOCK_RECOVERY_REPLICAS=%q: %v", where, v, err)
		}
		replicas = n
	}
	if replicas > servers {
		t.Errorf("%s: the recovery stream wants %d replicas; there are %d NATS servers", where, replicas, servers)
	}
}

// natsHosts are the host:port pairs of a NATSOCK_NATS_URL list.
func natsHosts(t *testing.T, where, list string) []string {
	t.Helper()
	var hosts []string
	for _, s := range strings.Split(list, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Scheme != "nats" {
			t.Errorf("%s: NATSOCK_NATS_URL %q: want nats:// URLs", where, s)
			continue
		}
		hosts = append(hosts, u.Host)
	}
	return hosts
}

// natsConfig parses a NATS server config file as nats-server does, with
// SERVER_NAME set as the deployment sets it.
func natsConfig(t *testing.T, path, serverName string) *server.Options {
	t.Helper()
	t.Setenv("SERVER_NAME", serverName)
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("nats-server cannot read %s: %v", path, err)
	}
	if opts.ServerName != serverName {
		t.Errorf("%s: server_name is %q with SERVER_NAME=%s", path, opts.ServerName, serverName)
	}
	if !opts.JetStream || opts.StoreDir == "" {
		t.Errorf("%s: JetStream is off or has no store_dir; natsock's recovery keeps its messages in a stream", path)
	}
	if opts.Cluster.Name == "" || opts.Cluster.Port == 0 {
		t.Errorf("%s: no cluster name or port", path)
	}
	return opts
}

// routeHosts are the host:port pairs of the config's cluster routes.
func routeHosts(opts *server.Options) []string {
	var hosts []string
	for _, r := range opts.Routes {
		hosts = append(hosts, r.Host)
	}
	slices.Sort(hosts)
	return hosts
}

func TestDeployDockerfile(t *testing.T) {
	root := repoRoot(t)
	data := readFile(t, filepath.Join(root, "Dockerfile"))
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: parser warning: %s", w.Short)
	}
	var lint []string
	stages, _, err := instructions.Parse(res.AST, linter.New(&linter.Config{
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			lint = append(lint, fmt.Sprintf("Dockerfile:%d: %s: %s", line, rule, msg))
		},
	}))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, l := range lint {
		t.Errorf("BuildKit's linter: %s", l)
	}
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build, then the image)", len(stages))
	}
	build, final := stages[0], stages[1]
	if !strings.HasPrefix(build.BaseName, "golang:1.26") {
		t.Errorf("the build stage is FROM %s, want golang:1.26 (go.mod's Go)", build.BaseName)
	}
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") && final.BaseName != "scratch" {
		t.Errorf("the image is FROM %s, want distroless/static or scratch", final.BaseName)
	}

	var goBuild string
	for _, c := range build.Commands {
		if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			goBuild = strings.Join(r.CmdLine, " ")
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-buildvcs=true", "-o /out/natsock", "./cmd/natsock"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the build stage's go build (%q) lacks %s", goBuild, want)
		}
	}

	var (
		bin, user    string
		env          = make(map[string]string)
		exposed      []string
		health       []string
		entry, cmd   []string
		healthPeriod time.Duration
	)
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			if c.From == build.Name {
				bin = c.DestPath
			}
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.ExposeCommand:
			exposed = append(exposed, c.Ports...)
		case *instructions.HealthCheckCommand:
			health = c.Health.Test
			healthPeriod = c.Health.Interval
		case *instructions.EntrypointCommand:
			entry = c.CmdLine
		case *instructions.CmdCommand:
			cmd = c.CmdLine
		}
	}
	if bin == "" {
		t.Fatalf("the image copies nothing from the %q stage", build.Name)
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("the image runs as user %q, want a non-root one", user)
	} else if _, err := strconv.Atoi(uid); err != nil {
		t.Errorf("USER %q: want a number, which Kubernetes' runAsNonRoot can check", user)
	}
	if port := strconv.Itoa(listenPort(t, env)); !slices.Contains(exposed, port) && !slices.Contains(exposed, port+"/tcp") {
		t.Errorf("the image EXPOSEs %q, not natsock's port %s", exposed, port)
	}
	if !slices.Equal(health, []string{"CMD", bin, "health"}) || healthPeriod <= 0 {
		t.Errorf("HEALTHCHECK is %q every %v, want [CMD %s health] with an interval", health, healthPeriod, bin)
	}
	if !slices.Equal(entry, []string{bin}) {
		t.Errorf("ENTRYPOINT is %q, want [%s]", entry, bin)
	}
	if !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf("CMD is %q, want [serve]", cmd)
	}
	// The image's settings, with the rules a user gives it: the docker run
	// example of the Dockerfile's header.
	var example []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "#") && strings.Contains(l, "docker run") && strings.Contains(l, " serve ") {
			_, example, _ = exampleCommand(l)
		}
	}
	checkSettings(t, "Dockerfile with its docker run example", env, example)

	// The build stage's go build, run here as the Dockerfile runs it: a
	// static binary that knows its version. (-trimpath builds every
	// package anew, minutes on a cold cache: -short leaves it out.)
	if testing.Short() {
		return
	}
	out := filepath.Join(t.TempDir(), "natsock")
	sh := strings.ReplaceAll(goBuild, "/out/natsock", out)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "sh", "-c", sh)
	run.Dir = root
	run.Env = append(cleanEnv(), "TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH)
	if b, err := run.CombinedOutput(); err != nil {
		t.Fatalf("the Dockerfile's go build (%s): %v\n%s", sh, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the Dockerfile's go build makes a dynamically linked binary (it has an ELF interpreter)")
		}
	}
	info, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]string)
	for _, s := range info.Settings {
		got[s.Key] = s.Value
	}
	if got["CGO_ENABLED"] != "0" || got["-trimpath"] != "true" {
		t.Errorf("the binary's build information lacks CGO_ENABLED=0 or -trimpath: %v", got)
	}
	if gitWorkTree(root) && got["vcs.revision"] == "" {
		t.Errorf("built in a git work tree, the binary does not know its commit: %v", got)
	}
}

func TestDeployDockerignore(t *testing.T) {
	root := repoRoot(t)
	var patterns []string
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, filepath.Join(root, ".dockerignore"))))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	ignored := func(path string) bool {
		for _, p := range patterns {
			if dockerignoreMatch(p, path) {
				return true
			}
		}
		return false
	}
	for _, p := range []string{"testdata/node_modules/socket.io/package.json", "natsock", "cmd/natsock/natsock.test"} {
		if !ignored(p) {
			t.Errorf(".dockerignore sends %s to docker build", p)
		}
	}
	if ignored(".git/HEAD") {
		t.Errorf(".dockerignore leaves out .git, from which go build stamps the commit")
	}
	// Every file git tracks is sent: a missing one would fail the build
	// or mark the stamped commit "modified".
	if !gitWorkTree(root) {
		t.Skipf("%s is not a git work tree: no tracked files to check .dockerignore against", root)
	}
	ls := exec.Command("git", "ls-files")
	ls.Dir = root
	files, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Fields(string(files)) {
		if ignored(f) {
			t.Errorf(".dockerignore leaves out %s, which git tracks", f)
		}
	}
}

// gitWorkTree reports whether dir is in a git work tree (as a clone is,
// and a source archive is not).
func gitWorkTree(dir string) bool {
	cmd := exec.Command("git", "rev-parse", "--is-inside-work-tree")
	cmd.Dir = dir
	out, err := cmd.Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// dockerignoreMatch reports whether a .dockerignore pattern leaves out
// path (slash-separated, relative to the context): the pattern matches the
// path or one of its parent directories; "**/" matches any directories.
func dockerignoreMatch(pattern, path string) bool {
	pattern = strings.TrimPrefix(pattern, "/")
	anyDepth := strings.HasPrefix(pattern, "**/")
	pattern = strings.TrimPrefix(pattern, "**/")
	parts := strings.Split(path, "/")
	for i := range parts {
		for j := i + 1; j <= len(parts); j++ {
			if i > 0 && !anyDepth {
				break
			}
			if ok, _ := filepath.Match(pattern, strings.Join(parts[i:j], "/")); ok {
				return true
			}
		}
	}
	return false
}

func TestDeployCompose(t *testing.T) {
	root := repoRoot(t)
	dir := filepath.Join(root, "deploy", "compose")
	project, err := loader.LoadWithContext(context.Background(), composetypes.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []composetypes.ConfigFile{{Filename: filepath.Join(dir, "compose.yaml")}},
		Environment: composetypes.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("natsock", true); o.ResolvePaths = true })
	if err != nil {
		t.Fatalf("docker compose's loader refuses compose.yaml: %v", err)
	}
	natsConf := filepath.Join(root, "deploy", "nats", "nats.conf")
	var natsServers, natsockNodes []string
	for _, name := range slices.Sorted(maps.Keys(project.Services)) {
		switch {
		case strings.HasPrefix(name, "nats-"):
			natsServers = append(natsServers, name)
		case strings.HasPrefix(name, "natsock-"):
			natsockNodes = append(natsockNodes, name)
		}
	}
	if len(natsServers) != 3 || len(natsockNodes) != 2 {
		t.Fatalf("compose.yaml has NATS servers %q and natsock nodes %q, want 3 and 2", natsServers, natsockNodes)
	}
	var routes []string
	for _, name := range natsServers {
		s := project.Services[name]
		routes = append(routes, name+":6222")
		if !strings.HasPrefix(s.Image, "nats:") || s.HealthCheck == nil || s.Hostname != name {
			t.Errorf("%s: image %q, health check %v, hostname %q: want the nats image, a health check and its own name", name, s.Image, s.HealthCheck != nil, s.Hostname)
		}
		if !slices.Equal(s.Command, composetypes.ShellCommand{"--config", "/etc/nats/nats.conf"}) {
			t.Errorf("%s: command %q, want --config /etc/nats/nats.conf", name, s.Command)
		}
		if !slices.ContainsFunc(s.Volumes, func(v composetypes.ServiceVolumeConfig) bool {
			return v.Source == natsConf && v.Target == "/etc/nats/nats.conf"
		}) {
			t.Errorf("%s: does not mount deploy/nats/nats.conf at /etc/nats/nats.conf", name)
		}
		sn := s.Environment["SERVER_NAME"]
		if sn == nil || *sn != name {
			t.Errorf("%s: SERVER_NAME is not the service's name", name)
			continue
		}
		natsConfig(t, natsConf, *sn)
	}
	if got := routeHosts(natsConfig(t, natsConf, "nats-1")); !slices.Equal(got, routes) {
		t.Errorf("nats.conf routes to %q, want the three NATS services %q", got, routes)
	}

	var upstreams []string
	for _, name := range natsockNodes {
		s := project.Services[name]
		env := make(map[string]string)
		for k, v := range s.Environment {
			if v == nil {
				t.Errorf("%s: %s has no value", name, k)
				continue
			}
			env[k] = *v
		}
		checkSettings(t, "compose.yaml "+name, env, []string{"serve"})
		if s.Build == nil || s.Build.Context != root {
			t.Errorf("%s: does not build the repository's Dockerfile", name)
		}
		for _, h := range natsHosts(t, name, env["NATSOCK_NATS_URL"]) {
			server, port, _ := strings.Cut(h, ":")
			if !slices.Contains(natsServers, server) || port != "4222" {
				t.Errorf("%s: NATSOCK_NATS_URL names %s, not a NATS service's client port", name, h)
			}
			if _, ok := s.DependsOn[server]; !ok {
				t.Errorf("%s: does not wait for %s", name, server)
			}
		}
		checkRecoveryReplicas(t, name, env, len(natsServers))
		if env["NATSOCK_NODE_NAME"] != name {
			t.Errorf("%s: NATSOCK_NODE_NAME is %q, want the service's name", name, env["NATSOCK_NODE_NAME"])
		}
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= shutdownTimeout(t, env) {
			t.Errorf("%s: stop_grace_period is not longer than its shutdown timeout %v", name, shutdownTimeout(t, env))
		}
		upstreams = append(upstreams, fmt.Sprintf("%s:%d", name, listenPort(t, env)))
	}
	nginx := project.Services["nginx"]
	for _, n := range natsockNodes {
		if d, ok := nginx.DependsOn[n]; !ok || d.Condition != composetypes.ServiceConditionHealthy {
			t.Errorf("nginx: does not wait for %s to be healthy (ready)", n)
		}
	}
	if !slices.ContainsFunc(nginx.Volumes, func(v composetypes.ServiceVolumeConfig) bool {
		return v.Source == filepath.Join(root, "deploy", "nginx", "natsock.conf")
	}) {
		t.Errorf("nginx: does not mount deploy/nginx/natsock.conf")
	}
	if got := nginxUpstreams(t, readFile(t, filepath.Join(root, "deploy", "nginx", "natsock.conf"))); !slices.Equal(got, upstreams) {
		t.Errorf("deploy/nginx/natsock.conf's upstream is %q, want the natsock services %q", got, upstreams)
	}
}

var nginxServerLine = regexp.MustCompile(`(?m)^\s*server\s+([^\s;]+:\d+)[\s;]`)

// nginxUpstreams are the server addresses of the config's upstream block.
func nginxUpstreams(t *testing.T, conf []byte) []string {
	t.Helper()
	_, block, ok := strings.Cut(string(conf), "upstream natsock {")
	if !ok {
		t.Fatal("deploy/nginx/natsock.conf has no upstream natsock block")
	}
	block, _, _ = strings.Cut(block, "}")
	var servers []string
	for _, m := range nginxServerLine.FindAllStringSubmatch(block, -1) {
		servers = append(servers, m[1])
	}
	return servers
}

func TestDeployNginx(t *testing.T) {
	root := repoRoot(t)
	conf := readFile(t, filepath.Join(root, "deploy", "nginx", "natsock.conf"))
	text := string(conf)
	_, upstream, _ := strings.Cut(text, "upstream natsock {")
	upstream, _, _ = strings.Cut(upstream, "}")
	if !regexp.MustCompile(`(?m)^\s*(ip_hash|hash\s+\S+(\s+consistent)?);`).MatchString(upstream) {
		t.Errorf("the upstream does not keep a client on one node (ip_hash or hash): polling would lose its session")
	}
	for _, want := range []string{
		"proxy_http_version 1.1;",
		"proxy_set_header Upgrade $http_upgrade;",
		"proxy_set_header Connection $connection_upgrade;",
		"proxy_buffering off;",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("deploy/nginx/natsock.conf lacks %q", want)
		}
	}
	m := regexp.MustCompile(`proxy_read_timeout\s+(\d+)s;`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("deploy/nginx/natsock.conf sets no proxy_read_timeout (nginx's 60s default must be chosen, not inherited)")
	}
	secs, _ := strconv.Atoi(m[1])
	if hb := heartbeat(t, nil); time.Duration(secs)*time.Second <= hb {
		t.Errorf("proxy_read_timeout %ds is not longer than natsock's ping interval + timeout (%v)", secs, hb)
	}

	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		if nginxBin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			t.Skipf("nginx is not installed (Debian package nginx-light; .ci/run installs it): %v", err)
		}
	}
	// nginx -t resolves the upstream's names, which only the compose
	// network knows: here they are loopback addresses, nothing else changed.
	dir := t.TempDir()
	names := regexp.MustCompile(`(?m)^(\s*server\s+)[a-z0-9-]+(:\d+)`)
	local := names.ReplaceAllString(text, "${1}127.0.0.1${2}")
	if err := os.WriteFile(filepath.Join(dir, "natsock.conf"), []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	main := fmt.Sprintf("pid %s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n    include %s/natsock.conf;\n}\n", dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	out, err := exec.CommandContext(ctx, nginxBin, "-t", "-q", "-p", dir, "-e", "stderr", "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("nginx -t on deploy/nginx/natsock.conf: %v\n%s", err, out)
	}
}

// k8sObjects decodes every document of a manifest file strictly into its
// Kubernetes API type: an unknown or misspelt field is an error.
func k8sObjects(t *testing.T, path string) []any {
	t.Helper()
	var objs []any
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(readFile(t, path)), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := k8syaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("%s: document %d: %v", path, i+1, err)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			obj = &corev1.Namespace{}
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "apps/v1 StatefulSet":
			obj = &appsv1.StatefulSet{}
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "policy/v1 PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "networking.k8s.io/v1 Ingress":
			obj = &networkingv1.Ingress{}
		default:
			t.Fatalf("%s: document %d: %s %s is not a kind this test knows", path, i+1, tm.APIVersion, tm.Kind)
		}
		if err := k8syaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: document %d (%s): %v", path, i+1, tm.Kind, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

// selects reports whether a label selector selects labels.
func selects(sel map[string]string, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// containerPort resolves a probe's or Service's port (a name or a number)
// to a container port of c.
func containerPort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func TestDeployKubernetes(t *testing.T) {
	root := repoRoot(t)
	dir := filepath.Join(root, "deploy", "kubernetes")
	var kustomization struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
	}
	if err := k8syaml.UnmarshalStrict(readFile(t, filepath.Join(dir, "kustomization.yaml")), &kustomization); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifests []string
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			manifests = append(manifests, filepath.Base(f))
		}
	}
	if got := slices.Sorted(slices.Values(kustomization.Resources)); !slices.Equal(got, manifests) {
		t.Errorf("kustomization.yaml lists %q, the directory holds %q", got, manifests)
	}

	var (
		configMaps   = make(map[string]*corev1.ConfigMap)
		services     = make(map[string]*corev1.Service)
		statefulSets []*appsv1.StatefulSet
		deployments  []*appsv1.Deployment
		pdbs         []*policyv1.PodDisruptionBudget
		ingresses    []*networkingv1.Ingress
		namespaces   []string
	)
	for _, f := range manifests {
		for _, obj := range k8sObjects(t, filepath.Join(dir, f)) {
			switch o := obj.(type) {
			case *corev1.Namespace:
				namespaces = append(namespaces, o.Name)
			case *corev1.ConfigMap:
				configMaps[o.Name] = o
			case *corev1.Service:
				services[o.Name] = o
			case *appsv1.StatefulSet:
				statefulSets = append(statefulSets, o)
			case *appsv1.Deployment:
				deployments = append(deployments, o)
			case *policyv1.PodDisruptionBudget:
				pdbs = append(pdbs, o)
			case *networkingv1.Ingress:
				ingresses = append(ingresses, o)
			}
		}
	}
	if !slices.Contains(namespaces, kustomization.Namespace) {
		t.Errorf("kustomization.yaml puts everything in namespace %q, which no manifest makes", kustomization.Namespace)
	}
	if len(statefulSets) != 1 || len(deployments) != 1 {
		t.Fatalf("want one StatefulSet (NATS) and one Deployment (natsock); have %d and %d", len(statefulSets), len(deployments))
	}

	// NATS: three servers, each routing to all three by their stable names.
	nats := statefulSets[0]
	if nats.Spec.Replicas == nil || *nats.Spec.Replicas != 3 {
		t.Errorf("the NATS StatefulSet does not run 3 servers")
	}
	headless := services[nats.Spec.ServiceName]
	if headless == nil || headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses {
		t.Fatalf("the NATS StatefulSet's service %q is not headless with publishNotReadyAddresses", nats.Spec.ServiceName)
	}
	if !selects(nats.Spec.Selector.MatchLabels, nats.Spec.Template.Labels) || !selects(headless.Spec.Selector, nats.Spec.Template.Labels) {
		t.Errorf("the NATS StatefulSet's or service's selector does not select its pods")
	}
	natsC := nats.Spec.Template.Spec.Containers[0]
	var cmName string
	for _, v := range nats.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
		}
	}
	cm := configMaps[cmName]
	if cm == nil || cm.Data["nats.conf"] == "" {
		t.Fatalf("the NATS pods mount ConfigMap %q, which has no nats.conf", cmName)
	}
	conf := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(conf, []byte(cm.Data["nats.conf"]), 0o600); err != nil {
		t.Fatal(err)
	}
	if natsC.Env[0].Name != "SERVER_NAME" || natsC.Env[0].ValueFrom == nil || natsC.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("the NATS container does not take SERVER_NAME from its pod's name")
	}
	opts := natsConfig(t, conf, nats.Name+"-0")
	var routes []string
	for i := range int(*nats.Spec.Replicas) {
		routes = append(routes, fmt.Sprintf("%s-%d.%s:%d", nats.Name, i, headless.Name, opts.Cluster.Port))
	}
	if got := routeHosts(opts); !slices.Equal(got, routes) {
		t.Errorf("the NATS config routes to %q, want every pod of the StatefulSet %q", got, routes)
	}
	mounted := func(c corev1.Container, path string) bool {
		return slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
			return strings.HasPrefix(path+"/", strings.TrimSuffix(m.MountPath, "/")+"/")
		})
	}
	if !mounted(natsC, opts.StoreDir) || len(nats.Spec.VolumeClaimTemplates) == 0 {
		t.Errorf("JetStream's store_dir %s is not on a volume claim", opts.StoreDir)
	}
	if opts.PidFile != "" && !mounted(natsC, filepath.Dir(opts.PidFile)) {
		t.Errorf("the pid file %s (for lame duck mode) is on the read-only root", opts.PidFile)
	}
	natsClient := fmt.Sprint(opts.Port)

	// natsock: probes, settings, and the NATS pods it names.
	natsock := deployments[0]
	if natsock.Spec.Replicas == nil || *natsock.Spec.Replicas < 2 {
		t.Errorf("the natsock Deployment runs fewer than 2 nodes")
	}
	pod := natsock.Spec.Template
	if !selects(natsock.Spec.Selector.MatchLabels, pod.Labels) {
		t.Errorf("the natsock Deployment's selector does not select its pods")
	}
	c := pod.Spec.Containers[0]
	env := make(map[string]string)
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			env[e.Name] = "natsock-7d4b9c-x2x9q" // what the downward API gives: a pod's name
		case e.ValueFrom != nil:
			t.Errorf("natsock.yaml: %s comes from a source this test cannot stand in for", e.Name)
		default:
			env[e.Name] = e.Value
		}
	}
	checkSettings(t, "natsock.yaml", env, c.Args)
	port := int32(listenPort(t, env))
	checkRecoveryReplicas(t, "natsock.yaml", env, int(*nats.Spec.Replicas))
	if m, ok := env["NATSOCK_METRICS_LISTEN"]; ok {
		// /metrics on its own port: the pod declares it, and says so to a
		// Prometheus that discovers pods by annotation.
		_, mp, err := net.SplitHostPort(m)
		if err != nil {
			t.Fatalf("natsock.yaml: NATSOCK_METRICS_LISTEN=%q: %v", m, err)
		}
		n, _ := strconv.Atoi(mp)
		if _, ok := containerPort(c, intstr.FromInt32(int32(n))); !ok || pod.Annotations["prometheus.io/port"] != mp {
			t.Errorf("natsock.yaml: the metrics port %s is not a container port, or not the prometheus.io/port annotation", mp)
		}
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
			t.Errorf("natsock's %s probe is not GET %s", p.name, p.path)
			continue
		}
		if got, ok := containerPort(c, p.probe.HTTPGet.Port); !ok || got != port {
			t.Errorf("natsock's %s probe goes to port %v, natsock listens on %d", p.name, p.probe.HTTPGet.Port.String(), port)
		}
	}
	for _, h := range natsHosts(t, "natsock.yaml", env["NATSOCK_NATS_URL"]) {
		host, p, _ := strings.Cut(h, ":")
		if !slices.Contains(routes, host+":"+fmt.Sprint(opts.Cluster.Port)) || p != natsClient {
			t.Errorf("natsock.yaml: NATSOCK_NATS_URL names %s, not a NATS pod's client port", h)
		}
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= shutdownTimeout(t, env) {
		t.Errorf("natsock's terminationGracePeriodSeconds is not longer than its shutdown timeout %v", shutdownTimeout(t, env))
	}
	psc := pod.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Errorf("natsock's pod does not run as non-root user 65532, the image's")
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("natsock's root file system is writable; it writes nothing")
	}

	// The Service, the Ingress and the disruption budgets reach real pods.
	svc := services[natsock.Name]
	if svc == nil || !selects(svc.Spec.Selector, pod.Labels) {
		t.Fatalf("no Service %q selecting natsock's pods", natsock.Name)
	}
	var svcPort *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if got, ok := containerPort(c, svc.Spec.Ports[i].TargetPort); ok && got == port {
			svcPort = &svc.Spec.Ports[i]
		}
	}
	if svcPort == nil {
		t.Fatalf("natsock's Service has no port to natsock's %d", port)
	}
	if len(ingresses) != 1 {
		t.Fatalf("want one Ingress, have %d", len(ingresses))
	}
	ing := ingresses[0]
	for _, r := range ing.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			b := p.Backend.Service
			if b == nil || b.Name != svc.Name || (b.Port.Name != svcPort.Name && b.Port.Number != svcPort.Port) {
				t.Errorf("the Ingress's path %s does not lead to natsock's Service port", p.Path)
			}
		}
	}
	a := ing.Annotations
	if a["nginx.ingress.kubernetes.io/affinity"] != "cookie" || a["nginx.ingress.kubernetes.io/session-cookie-name"] == "" {
		t.Errorf("the Ingress does not keep a client on one pod with a cookie (ingress-nginx affinity): polling would lose its session")
	}
	hb := heartbeat(t, env)
	for _, k := range []string{"nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"} {
		if secs, err := strconv.Atoi(a[k]); err != nil || time.Duration(secs)*time.Second <= hb {
			t.Errorf("the Ingress's %s %q is not longer than natsock's ping interval + timeout (%v)", k, a[k], hb)
		}
	}
	for _, want := range []map[string]string{nats.Spec.Template.Labels, pod.Labels} {
		if !slices.ContainsFunc(pdbs, func(p *policyv1.PodDisruptionBudget) bool { return selects(p.Spec.Selector.MatchLabels, want) }) {
			t.Errorf("no PodDisruptionBudget covers the pods labelled %v", want)
		}
	}
}

func TestDeploySystemd(t *testing.T) {
	root := repoRoot(t)
	unit := string(readFile(t, filepath.Join(root, "deploy", "systemd", "natsock.service")))
	directives := make(map[string][]string)
	for _, l := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && !strings.HasPrefix(l, "#") {
			directives[k] = append(directives[k], v)
		}
	}
	one := func(k string) string {
		if len(directives[k]) != 1 {
			t.Errorf("natsock.service: %s is given %d times, want once", k, len(directives[k]))
			return ""
		}
		return directives[k][0]
	}
	if one("Restart") != "on-failure" {
		t.Errorf("natsock.service does not restart on failure")
	}
	if one("DynamicUser") != "yes" && len(directives["User"]) == 0 {
		t.Errorf("natsock.service runs as root: set DynamicUser=yes or User=")
	}
	env := make(map[string]string)
	envFile := readFile(t, filepath.Join(root, "deploy", "systemd", "natsock.env"))
	for i, l := range strings.Split(string(envFile), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Errorf("natsock.env:%d: want NAME=value", i+1)
			continue
		}
		env[k] = v
	}
	if one("EnvironmentFile") != "/etc/natsock/natsock.env" {
		t.Errorf("natsock.service does not read /etc/natsock/natsock.env, which deploy/systemd/natsock.env is installed as")
	}
	exec0 := strings.Fields(one("ExecStart"))
	if len(exec0) == 0 || filepath.Base(exec0[0]) != "natsock" {
		t.Fatalf("natsock.service's ExecStart %q does not run natsock", exec0)
	}
	checkSettings(t, "natsock.service with natsock.env", env, exec0[1:])
	checkRecoveryReplicas(t, "natsock.env", env, len(natsHosts(t, "natsock.env", env["NATSOCK_NATS_URL"])))
	stop, err := time.ParseDuration(one("TimeoutStopSec"))
	if err != nil || stop <= shutdownTimeout(t, env) {
		t.Errorf("natsock.service's TimeoutStopSec %q is not longer than the shutdown timeout %v", one("TimeoutStopSec"), shutdownTimeout(t, env))
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skipf("systemd-analyze is not installed (Debian package systemd; .ci/run installs it): %v", err)
	}
	// systemd-analyze verify checks that ExecStart's program exists: here
	// it is this test's own executable, nothing else changed.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	local := strings.Replace(unit, "ExecStart="+exec0[0], "ExecStart="+self, 1)
	path := filepath.Join(dir, "natsock.service")
	if err := os.WriteFile(path, []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	// verify exits 0 on an unknown directive or a bad value, and says so:
	// anything it prints is a failure.
	out, err := exec.CommandContext(ctx, analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify natsock.service: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, analyze, "security", "--offline=yes", path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for natsock\.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security natsock.service: %v\n%s", err, out)
	}
	if exposure, _ := strconv.ParseFloat(string(m[1]), 64); exposure > 2.0 {
		t.Errorf("systemd-analyze security rates natsock.service's exposure %.1f, want at most 2.0 (OK):\n%s", exposure, out)
	}
}

// TestDeployNginxInFront runs deploy/nginx/natsock.conf for real in front
// of two natsock nodes on one NATS server, and real socket.io clients
// through it: one that only polls (every heartbeat a new request, each of
// which must reach the node holding its session) and one that upgrades to
// a websocket through nginx. Only the addresses change: nginx's port and
// the nodes' names become free loopback ports.
func TestDeployNginxInFront(t *testing.T) {
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		if nginxBin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			t.Skipf("nginx is not installed (Debian package nginx-light; .ci/run installs it): %v", err)
		}
	}
	bridgetest.RequireNode(t)
	bin := buildNatsock(t)
	opts := natsserver.DefaultTestOptions
	opts.Port = -1
	ns := natsserver.RunServer(&opts)
	t.Cleanup(ns.Shutdown)

	var nodes []string
	for range 2 {
		serve := startServe(t, bin, "--nats-url", ns.ClientURL(), "--map", "tasks.assigned=newTaskAssigned")
		addr := serve.waitLog(addrLog)[1]
		nodes = append(nodes, addr)
		client := &http.Client{Timeout: 2 * time.Second}
		bridgetest.Eventually(t, startBound, "a natsock node's /readyz answering 200", func() bool {
			resp, err := client.Get("http://" + addr + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}

	root := repoRoot(t)
	conf := string(readFile(t, filepath.Join(root, "deploy", "nginx", "natsock.conf")))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := ln.Addr().String()
	ln.Close()
	listen := regexp.MustCompile(`(?m)^(\s*listen\s+)80;`)
	if !listen.MatchString(conf) {
		t.Fatal("deploy/nginx/natsock.conf does not listen on port 80")
	}
	conf = listen.ReplaceAllString(conf, "${1}"+front+";")
	for i, node := range nodes {
		name := fmt.Sprintf("natsock-%d:3000", i+1)
		if !strings.Contains(conf, name) {
			t.Fatalf("deploy/nginx/natsock.conf has no upstream server %s", name)
		}
		conf = strings.Replace(conf, name, node, 1)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "natsock.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// Everything nginx writes stays in dir.
	var temps strings.Builder
	for _, k := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "    %s_temp_path %s/%s;\n", k, dir, k)
	}
	main := fmt.Sprintf("daemon off;\npid %[1]s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n    access_log off;\n%[2]s    include %[1]s/natsock.conf;\n}\n", dir, temps.String())
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	nginx := exec.Command(nginxBin, "-p", dir, "-e", "stderr", "-c", filepath.Join(dir, "nginx.conf"))
	var nginxOut bytes.Buffer
	nginx.Stdout, nginx.Stderr = &nginxOut, &nginxOut
	if err := nginx.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- nginx.Wait() }()
	t.Cleanup(func() {
		_ = nginx.Process.Signal(syscall.SIGTERM) // nginx's fast shutdown, master and workers
		select {
		case <-exited:
		case <-time.After(startBound):
			_ = nginx.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx:\n%s", nginxOut.String())
		}
	})
	base := "http://" + front
	client := &http.Client{Timeout: 2 * time.Second}
	bridgetest.Eventually(t, startBound, "nginx passing /readyz to a natsock node", func() bool {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	polling := interop(t, base, "polling", "--scenario", "receive", "--event", "newTaskAssigned", "--count", "1")
	upgrading := interop(t, base, "polling,websocket", "--scenario", "receive", "--event", "newTaskAssigned", "--count", "1")
	polling.WaitReady(startBound)
	upgrading.WaitReady(startBound)
	if code, out := run(t, bin, "", "publish", "--nats-url", ns.ClientURL(), "tasks.assigned", `{"taskId":"42"}`); code != 0 {
		t.Fatalf("natsock publish exited %d:\n%s", code, out)
	}
	for _, c := range []struct {
		name string
		cl   *bridgetest.Client
		want string
	}{{"the polling client", polling, "polling"}, {"the upgrading client", upgrading, "websocket"}} {
		r := c.cl.MustOK(nodeBound)
		if r.Transport != c.want || len(r.Events) != 1 || !bridgetest.JSONEqual(r.Events[0].Args[0], []byte(`{"taskId":"42"}`)) {
			t.Errorf("%s through nginx: transport %s, events %s; want %s and the published task", c.name, r.Transport, r.Raw, c.want)
		}
	}
}
