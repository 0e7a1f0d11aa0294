package chroot

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/autopilot-dev/autopilot/internal/image"
)

// keyVersion changes whenever what a RUN key covers changes, so older
// cache entries are never reused.
const keyVersion = "autopilot-run-v1"

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Runner executes RUN steps in a chroot of a scratch copy of the stage's
// filesystem. It needs root (CAP_SYS_CHROOT, CAP_MKNOD, CAP_CHOWN,
// CAP_SETPCAP) but not CAP_SYS_ADMIN; where it has that, or user
// namespaces, steps also get namespaces of their own. Close removes its
// scratch folder.
type Runner struct {
	o       *options
	local   *image.LayerCache
	scratch string
	ownDir  bool // scratch was made by New, so Close removes it entirely

	mu     sync.Mutex
	seq    int
	idle   []*rootfs              // unpacked filesystems kept for the next step
	caches map[string]*sync.Mutex // one user of a cache mount at a time

	isolationLog sync.Once
}

// rootfs is an unpacked stage filesystem and the layers it holds.
type rootfs struct {
	dir     string
	diffIDs []v1.Hash
}

var _ image.Runner = (*Runner)(nil)

// ErrNotIsolated is a RUN step refused because it could not be isolated
// from autopilot's process and the host (see Isolation) and
// WithUnisolatedRun was not given.
var ErrNotIsolated = errors.New("RUN cannot be isolated here")

// Executions counts the RUN steps actually executed, not taken from a cache.
// Tests and benchmarks read it.
func (r *Runner) Executions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// New returns a Runner. It fails unless the process can chroot.
func New(opts ...Option) (*Runner, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	r := &Runner{o: o, local: image.NewLayerCache(o.cacheDir, "runs"), caches: map[string]*sync.Mutex{}}
	if o.scratchDir == "" {
		if err := os.MkdirAll(o.cacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("create cache folder %s: %w", o.cacheDir, err)
		}
		if r.scratch, err = os.MkdirTemp(o.cacheDir, "scratch-"); err != nil {
			return nil, fmt.Errorf("create scratch folder: %w", err)
		}
		r.ownDir = true
	} else {
		r.scratch = o.scratchDir
		if err := os.MkdirAll(r.scratch, 0o700); err != nil {
			return nil, fmt.Errorf("create scratch folder %s: %w", r.scratch, err)
		}
	}
	// Only root may see into the scratch folder; the roots hold setuid files.
	if err := os.Chmod(r.scratch, 0o700); err != nil {
		return nil, err
	}
	return r, nil
}

// Close removes every unpacked filesystem and the scratch folder.
func (r *Runner) Close() error {
	r.mu.Lock()
	idle := r.idle
	r.idle = nil
	r.mu.Unlock()
	var first error
	for _, fs := range idle {
		if err := os.RemoveAll(fs.dir); err != nil && first == nil {
			first = err
		}
	}
	if r.ownDir {
		if err := os.RemoveAll(r.scratch); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Run implements image.Runner: it returns the cached layer for the step if
// there is one, and otherwise executes the step and caches its layer.
func (r *Runner) Run(ctx context.Context, stage *image.StageState, cmd *instructions.RunCommand, key string) (v1.Layer, error) {
	line := 0
	if loc := cmd.Location(); len(loc) > 0 {
		line = loc[0].Start.Line
	}
	if len(cmd.Files) > 0 {
		return nil, errors.New("RUN with a here-document is not supported yet; put the script in a file, COPY it and RUN it")
	}
	mounts := instructions.GetMounts(cmd)
	for _, m := range mounts {
		switch m.Type {
		case instructions.MountTypeCache, instructions.MountTypeSecret:
		default:
			return nil, fmt.Errorf("RUN --mount=type=%s is not supported; only type=cache and type=secret are", m.Type)
		}
	}
	network := instructions.GetNetwork(cmd)
	if network != instructions.NetworkDefault && network != instructions.NetworkNone && network != instructions.NetworkHost {
		return nil, fmt.Errorf("RUN --network=%s is not supported; use default, none or host", network)
	}
	manifestType, err := stage.Image.MediaType()
	if err != nil {
		return nil, fmt.Errorf("read stage image: %w", err)
	}
	mt := types.DockerLayer
	if manifestType == types.OCIManifestSchema1 {
		mt = types.OCILayer
	}
	cacheKey := runKey(key, stage, mounts, network)
	logf := func(format string, args ...any) {
		fmt.Fprintf(r.o.log, "#%d %s\n", line, fmt.Sprintf(format, args...))
	}

	if l, ok := r.local.Lookup(cacheKey, mt); ok {
		logf("CACHED %s", digestOf(l))
		return l, nil
	}
	if c := r.o.cacheRepo; c != nil {
		remoteLayer, ok, err := c.lookup(ctx, cacheKey)
		if err != nil {
			logf("warning: cache repository unavailable, running the step: %v", err)
		} else if ok {
			l, err := r.local.Import(cacheKey, remoteLayer, mt)
			if err != nil {
				return nil, err
			}
			logf("CACHED %s (from %s)", digestOf(l), c.repo)
			return l, nil
		}
	}

	start := time.Now()
	l, err := r.execute(ctx, stage, cmd, mounts, network, cacheKey, mt, logf)
	if err != nil {
		return nil, err
	}
	logf("DONE %.1fs %s", time.Since(start).Seconds(), digestOf(l))
	if c := r.o.cacheRepo; c != nil && !r.o.cacheReadOnly {
		if err := c.store(ctx, cacheKey, l); err != nil {
			logf("warning: %v", err)
		}
	}
	return l, nil
}

// runKey extends the builder's key (parent image and instruction text) with
// what else decides the result: ARG values, mounts and network.
func runKey(key string, stage *image.StageState, mounts []*instructions.Mount, network string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\nnetwork=%s\n", keyVersion, key, network)
	args := make([]string, 0, len(stage.Args))
	for k, v := range stage.Args {
		args = append(args, k+"="+v)
	}
	sort.Strings(args)
	for _, a := range args {
		fmt.Fprintf(h, "arg %q\n", a)
	}
	for _, m := range mounts {
		// Secret values are left out on purpose: they must not change, nor
		// leak through, a cache key.
		fmt.Fprintf(h, "mount %s %q %q %q %v %v %v %v\n", m.Type, m.Target, m.CacheID, derefString(m.Env), deref(m.Mode), deref(m.UID), deref(m.GID), m.Required)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func derefString(p *string) string {
	if p == nil {
		return "-"
	}
	return "=" + *p
}

func deref(p *uint64) any {
	if p == nil {
		return "-"
	}
	return *p
}

// takeRoot returns a scratch root holding the image's layers, reusing a
// kept one whose layers are a prefix of them.
func (r *Runner) takeRoot(img v1.Image) (*rootfs, []v1.Layer, int, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read stage layers: %w", err)
	}
	diffIDs, err := layerDiffIDs(img, layers)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read stage layers: %w", err)
	}
	r.mu.Lock()
	best := -1
	for i, fs := range r.idle {
		if isPrefix(fs.diffIDs, diffIDs) && (best < 0 || len(fs.diffIDs) > len(r.idle[best].diffIDs)) {
			best = i
		}
	}
	var root *rootfs
	if best >= 0 {
		root = r.idle[best]
		r.idle = append(r.idle[:best], r.idle[best+1:]...)
	}
	r.seq++
	n := r.seq
	r.mu.Unlock()
	from := 0
	if root == nil {
		root = &rootfs{dir: filepath.Join(r.scratch, fmt.Sprintf("root-%d", n))}
		if err := os.Mkdir(root.dir, 0o755); err != nil {
			return nil, nil, 0, fmt.Errorf("create scratch root: %w", err)
		}
	} else {
		from = len(root.diffIDs)
	}
	root.diffIDs = diffIDs
	return root, layers, from, nil
}

// layerDiffIDs takes the diffIDs from the image's config: asking a layer
// read from an OCI layout for its DiffID decompresses it whole, for every
// RUN step.
func layerDiffIDs(img v1.Image, layers []v1.Layer) ([]v1.Hash, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	if len(cf.RootFS.DiffIDs) == len(layers) {
		return slices.Clone(cf.RootFS.DiffIDs), nil
	}
	diffIDs := make([]v1.Hash, len(layers))
	for i, l := range layers {
		if diffIDs[i], err = l.DiffID(); err != nil {
			return nil, err
		}
	}
	return diffIDs, nil
}

func isPrefix(a, b []v1.Hash) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// keepRoot offers a root whose state is known for the next step, or removes it.
func (r *Runner) keepRoot(root *rootfs, ok bool) {
	if !ok || r.o.keepRoots == 0 {
		os.RemoveAll(root.dir)
		return
	}
	r.mu.Lock()
	r.idle = append(r.idle, root)
	var evict []*rootfs
	for len(r.idle) > r.o.keepRoots {
		evict = append(evict, r.idle[0])
		r.idle = r.idle[1:]
	}
	r.mu.Unlock()
	for _, fs := range evict {
		os.RemoveAll(fs.dir)
	}
}

func (r *Runner) execute(ctx context.Context, stage *image.StageState, cmd *instructions.RunCommand, mounts []*instructions.Mount, network, cacheKey string, mt types.MediaType, logf func(string, ...any)) (_ v1.Layer, err error) {
	cf, err := stage.Image.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read stage config: %w", err)
	}
	epoch := cf.Created.UTC()
	root, layers, from, err := r.takeRoot(stage.Image)
	if err != nil {
		return nil, err
	}
	clean := false
	defer func() { r.keepRoot(root, clean) }()
	if err := unpackLayers(root.dir, layers, from); err != nil {
		return nil, fmt.Errorf("unpack the stage's filesystem: %w", err)
	}
	before, err := takeSnapshot(root.dir)
	if err != nil {
		return nil, err
	}

	rfs, err := os.OpenRoot(root.dir)
	if err != nil {
		return nil, err
	}
	defer rfs.Close()
	stashDir, err := os.MkdirTemp(r.scratch, "stash-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stashDir)
	stash, err := os.Open(stashDir)
	if err != nil {
		return nil, err
	}
	defer stash.Close()
	sb := &sandbox{root: rfs, host: root.dir, stash: stash}
	runErr := r.runIn(ctx, sb, stage, cmd, mounts, network, logf)
	tdErr := sb.teardown()
	if tdErr != nil {
		return nil, fmt.Errorf("clean up after the step: %w", tdErr)
	}
	if runErr != nil {
		return nil, runErr
	}
	after, err := takeSnapshot(root.dir)
	if err != nil {
		return nil, err
	}
	changes := diffSnapshots(before, after, func(name string) bool { return underAny(name, sb.excluded) })
	l, err := r.local.Make(cacheKey, mt, func(tw *tar.Writer) error { return writeChanges(tw, rfs, changes, epoch) })
	if err != nil {
		return nil, fmt.Errorf("make the step's layer: %w", err)
	}
	diffID, _ := l.DiffID() // known: the cache computed it while writing
	root.diffIDs = append(root.diffIDs, diffID)
	clean = !sb.dirty
	return l, nil
}

// runIn sets the sandbox up and runs the step's process in it.
func (r *Runner) runIn(ctx context.Context, sb *sandbox, stage *image.StageState, cmd *instructions.RunCommand, mounts []*instructions.Mount, network string, logf func(string, ...any)) error {
	// An image whose /dev or /etc is a symlink out of its root gets no
	// devices or network files: the sandbox never writes through such links.
	if err := sb.makeDevices(); err != nil {
		logf("note: no /dev devices for this step: %v", err)
	}
	resolv := []byte{}
	if network != instructions.NetworkNone {
		resolv, _ = os.ReadFile("/etc/resolv.conf")
	}
	if err := sb.place("etc/resolv.conf", resolv, 0o644, 0, 0); err != nil {
		logf("note: no /etc/resolv.conf for this step: %v", err)
	}
	if err := sb.place("etc/hosts", []byte(hostsFile), 0o644, 0, 0); err != nil {
		logf("note: no /etc/hosts for this step: %v", err)
	}
	flags, iso := isolation.probe(r.scratch)
	r.isolationLog.Do(func() { fmt.Fprintf(r.o.log, "RUN isolation: %s\n", iso) })
	if !iso.Restricted && !r.o.allowUnisolated {
		return fmt.Errorf("%w: %s", ErrNotIsolated, iso.Err)
	}
	mountProc := iso.Proc && sb.prepareProc()
	var env []string
	for _, m := range mounts {
		switch m.Type {
		case instructions.MountTypeCache:
			unlock := r.lockCache(m)
			defer unlock()
			if err := sb.mountCache(filepath.Join(r.o.cacheDir, "mounts"), m); err != nil {
				return err
			}
		case instructions.MountTypeSecret:
			kv, err := r.mountSecret(sb, m)
			if err != nil {
				return err
			}
			env = append(env, kv...)
		}
	}

	cred, err := lookupUser(sb.host, stage.User)
	if err != nil {
		return err
	}
	env = stepEnv(stage, cred, env)
	workdir := stage.WorkingDir
	if workdir == "" {
		workdir = "/"
	}
	if err := makeWorkdir(sb.host, workdir, cred); err != nil {
		return fmt.Errorf("WORKDIR %s: %w", workdir, err)
	}
	argv := cmd.CmdLine
	if cmd.PrependShell {
		sh := stage.Shell
		if len(sh) == 0 {
			sh = []string{"/bin/sh", "-c"}
		}
		argv = append(append([]string(nil), sh...), strings.Join(cmd.CmdLine, " "))
	}
	if len(argv) == 0 {
		return errors.New("RUN needs a command")
	}
	prog, err := lookPath(sb.host, argv[0], envValue(env, "PATH"))
	if err != nil {
		return err
	}
	if guard := r.o.outputGuard; guard != nil {
		start, stop, err := guard()
		if err != nil {
			return fmt.Errorf("guard the step's output: %w", err)
		}
		_, _ = io.WriteString(r.o.log, start)
		defer io.WriteString(r.o.log, stop) // after out's last line: defers run last-in first-out
	}
	out := newLineWriter(r.o.log, fmt.Sprintf("#%d ", lineOf(cmd)), sb.secrets)
	defer out.Flush()
	if network != instructions.NetworkNone {
		flags &^= syscall.CLONE_NEWNET
	} else if !iso.NetNS {
		logf("warning: --network=none is not enforced here (no permission for a network namespace); only DNS is withheld")
	}
	if !iso.Restricted {
		logf("warning: this step runs without full isolation, as allowed (%s); only the restrictions that could be applied hold", iso.Err)
	}
	st, err := startHelper(flags, stepSpec{
		Root: sb.host, Pivot: flags&syscall.CLONE_NEWNS != 0, MountProc: mountProc,
		UserNS: flags&syscall.CLONE_NEWUSER != 0, Unisolated: !iso.Restricted,
		UID: cred.uid, GID: cred.gid, Groups: cred.groups,
		Dir: workdir, Path: prog, Args: argv, Env: env,
	}, out, out)
	if err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	c := st.c
	if st.msg != "" {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		_ = c.Wait()
		return fmt.Errorf("start %s: %s", argv[0], st.msg)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		case <-done:
		}
	}()
	err = c.Wait()
	close(done)
	// Daemons a step started would keep writing into the root; their
	// process group goes with the step.
	_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	out.Flush()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &ExitError{Code: -1, Signal: ws.Signal().String(), Tail: out.Tail()}
		}
		return &ExitError{Code: exitErr.ExitCode(), Tail: out.Tail()}
	}
	return err
}

// makeWorkdir creates a missing working folder owned by the step's user,
// as BuildKit's WORKDIR does, so that USER before WORKDIR can write there.
func makeWorkdir(root, workdir string, cred credential) error {
	host, err := resolveIn(root, workdir, true)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, host)
	if err != nil || strings.HasPrefix(rel, "..") {
		return errEscape
	}
	var missing []string
	for p := host; p != root; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil {
			return err
		}
		if err := os.Lchown(missing[i], int(cred.uid), int(cred.gid)); err != nil {
			return err
		}
	}
	return nil
}

// ExitError is a RUN step that did not succeed; the builder adds the line.
type ExitError struct {
	Code   int
	Signal string
	Tail   []string // the last lines of output, secrets masked
}

func (e *ExitError) Error() string {
	what := fmt.Sprintf("exit code %d", e.Code)
	if e.Signal != "" {
		what = "killed by " + e.Signal
	}
	msg := "RUN failed with " + what
	if len(e.Tail) > 0 {
		// "| " keeps a line of the step's output from starting a line
		// of autopilot's log, where it could be read as a workflow command.
		msg += "; last output:\n  | " + strings.Join(e.Tail, "\n  | ")
	}
	return msg
}

func lineOf(cmd *instructions.RunCommand) int {
	if loc := cmd.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

// stepEnv is the step's environment: ARG values, overridden by ENV, plus
// PATH and HOME when the image sets none, plus secrets asked for as env.
func stepEnv(stage *image.StageState, cred credential, extra []string) []string {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	argKeys := make([]string, 0, len(stage.Args))
	for k := range stage.Args {
		argKeys = append(argKeys, k)
	}
	sort.Strings(argKeys)
	for _, k := range argKeys {
		set(k, stage.Args[k])
	}
	for _, kv := range stage.Env {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	if _, ok := vals["PATH"]; !ok {
		set("PATH", defaultPath)
	}
	if _, ok := vals["HOME"]; !ok {
		home := cred.home
		if home == "" {
			home = "/"
		}
		set("HOME", home)
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vals[k])
	}
	return env
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

func (r *Runner) lockCache(m *instructions.Mount) func() {
	id := m.CacheID
	if id == "" {
		id = m.Target
	}
	r.mu.Lock()
	mu, ok := r.caches[id]
	if !ok {
		mu = &sync.Mutex{}
		r.caches[id] = mu
	}
	r.mu.Unlock()
	mu.Lock()
	return mu.Unlock
}

// mountSecret places a secret as a file (default /run/secrets/<id>) or, with
// env=, returns it as an environment variable. The file is removed before
// the layer is made and its path never reaches the layer.
func (r *Runner) mountSecret(sb *sandbox, m *instructions.Mount) ([]string, error) {
	id := m.CacheID
	if id == "" && m.Target != "" {
		id = filepath.Base(m.Target)
	}
	src, ok := r.o.secrets[id]
	if !ok {
		if m.Required {
			return nil, fmt.Errorf("secret %q is required but was not given; pass it with --secret id=%s,src=FILE or env=VAR", id, id)
		}
		return nil, nil
	}
	var value []byte
	if src.file != "" {
		b, err := os.ReadFile(src.file)
		if err != nil {
			return nil, fmt.Errorf("read secret %q: %w", id, err)
		}
		value = b
	} else {
		v, ok := os.LookupEnv(src.env)
		if !ok {
			if m.Required {
				return nil, fmt.Errorf("secret %q: environment variable %s is not set", id, src.env)
			}
			return nil, nil
		}
		value = []byte(v)
	}
	if s := strings.TrimSpace(string(value)); s != "" {
		sb.secrets = append(sb.secrets, s)
	}
	if m.Env != nil && m.Target == "" {
		name := *m.Env
		if name == "" {
			name = id
		}
		return []string{name + "=" + string(value)}, nil
	}
	target := m.Target
	if target == "" {
		target = "/run/secrets/" + id
	}
	mode := os.FileMode(0o400)
	if m.Mode != nil {
		mode = os.FileMode(*m.Mode & 0o777)
	}
	uid, gid := 0, 0
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	rel := strings.TrimPrefix(filepath.Clean("/"+target), "/")
	if err := sb.place(rel, value, mode, uid, gid); err != nil {
		return nil, fmt.Errorf("provide secret %q: %w", id, err)
	}
	if m.Env != nil {
		name := *m.Env
		if name == "" {
			name = id
		}
		return []string{name + "=" + string(value)}, nil
	}
	return nil, nil
}

// digestOf is a cached layer's digest, which the cache always knows.
func digestOf(l v1.Layer) v1.Hash {
	h, _ := l.Digest()
	return h
}
