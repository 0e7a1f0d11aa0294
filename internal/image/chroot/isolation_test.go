package chroot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// canary stands for a credential in autopilot's own environment: an AWS
// key, the github-token input, the OIDC request token.
const canary = "canary-4f1d9a7e0b2c"

var (
	attackOnce sync.Once
	attackBin  []byte
	attackErr  error
)

// attackBinary is testdata/attack built static, for a hostile Dockerfile
// to COPY in: what busybox cannot do (chroot escape, ptrace) it does.
func attackBinary(t *testing.T) []byte {
	t.Helper()
	attackOnce.Do(func() {
		out := filepath.Join(os.TempDir(), fmt.Sprintf("autopilot-attack-%d", os.Getpid()))
		defer os.Remove(out)
		c := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/attack")
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := c.CombinedOutput(); err != nil {
			attackErr = fmt.Errorf("build testdata/attack: %v\n%s", err, msg)
			return
		}
		attackBin, attackErr = os.ReadFile(out)
	})
	if attackErr != nil {
		t.Skip(attackErr)
	}
	return attackBin
}

// attack is one RUN step of a hostile Dockerfile. Its output goes to
// /r/<name> in the image; reached says, from that output and the host,
// whether it got out.
type attack struct {
	name, run string
	reached   func(out string) bool
}

// runAttacks builds a Dockerfile whose RUN steps try every known way from
// a RUN step to autopilot's credentials and the host, and fails the test
// for each one that works. The build itself must succeed: every attack
// step ends with `true`.
func runAttacks(t *testing.T) {
	requireRoot(t)
	base := baseImage(t)
	bin := attackBinary(t)
	hostDir := t.TempDir()
	hostFile := filepath.Join(hostDir, "credentials")
	if err := os.WriteFile(hostFile, []byte("aws_secret_access_key = "+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	escapeTarget := filepath.Join(hostDir, "written-by-escape")
	procTarget := filepath.Join(hostDir, "written-through-proc")
	parent := strconv.Itoa(os.Getpid())
	hasCanary := func(out string) bool { return strings.Contains(out, canary) }
	attacks := []attack{
		{"environment", "env", hasCanary},
		{"parent environ", "cat /proc/$PARENT_PID/environ", hasCanary},
		// The step's own environ is harmless; any other process's is not.
		{"pid 1 environ", "cat /proc/1/environ | tr '\\0' '\\n'", func(out string) bool {
			return strings.Contains(out, "=") && !strings.Contains(out, "STEP_MARKER=inside")
		}},
		{"chroot escape reads a host file", "/attack escape-read " + hostFile, hasCanary},
		{"chroot escape reads the parent's environ", "/attack escape-read /proc/$PARENT_PID/environ", hasCanary},
		{"chroot escape writes a host file", "/attack escape-write " + escapeTarget, func(string) bool { return exists(escapeTarget) }},
		{"write through /proc/<parent>/root", "echo pwned > /proc/$PARENT_PID/root" + procTarget, func(string) bool { return exists(procTarget) }},
		{"mount proc", "mkdir -p /mnt/p && mount -t proc proc /mnt/p && echo MOUNTED && cat /mnt/p/$PARENT_PID/environ; umount /mnt/p", func(out string) bool {
			return strings.Contains(out, "MOUNTED") || hasCanary(out)
		}},
		{"mount tmpfs", "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && echo MOUNTED; umount /mnt/t", func(out string) bool { return strings.Contains(out, "MOUNTED") }},
		{"ptrace the parent", "/attack ptrace $PARENT_PID", func(out string) bool { return strings.Contains(out, "attached to") }},
		{"read the parent's memory", "/attack mem $PARENT_PID", func(out string) bool { return strings.Contains(out, "bytes of") }},
		{"make a block device", "mknod /blockdev b 1 0 && echo MADE", func(out string) bool { return strings.Contains(out, "MADE") }},
		// A user namespace of its own would give the step every capability
		// back, CAP_SYS_CHROOT among them.
		{"nested user namespace", "unshare -U -r /attack escape-read " + hostFile + " && echo UNSHARED", func(out string) bool {
			return strings.Contains(out, "UNSHARED") || hasCanary(out)
		}},
	}
	var df strings.Builder
	df.WriteString("FROM busybox\nARG PARENT_PID\nENV STEP_MARKER=inside\nCOPY attack /attack\nRUN chmod 755 /attack && mkdir /r\n")
	for i, a := range attacks {
		fmt.Fprintf(&df, "RUN (%s) > /r/%d 2>&1; true\n", a.run, i)
	}
	cache := t.TempDir()
	var log bytes.Buffer
	r := newRunner(t, cache, WithLog(&log))
	img, err := buildWith(t, writeContext(t, df.String(), map[string]string{"attack": string(bin)}), base, cache, r, map[string]string{"PARENT_PID": parent})
	if err != nil {
		t.Fatalf("build: %v\nlog:\n%s", err, log.String())
	}
	iso := r.Isolation()
	t.Logf("RUN isolation: %s", iso)
	if !iso.Restricted {
		t.Errorf("the steps ran unrestricted: %s", iso.Err)
	}
	if strings.HasSuffix(os.Getenv(attackChildEnv), "UnderDockerDefaults") && (iso.UserNS || iso.MountNS || iso.PIDNS || iso.NetNS || iso.Proc) {
		t.Errorf("namespaces or /proc claimed where Docker's profile refuses them: %s", iso)
	}
	fsys := flatten(t, img)
	for i, a := range attacks {
		out, ok := fsys[fmt.Sprintf("r/%d", i)]
		if !ok {
			t.Errorf("%s: the step left no output", a.name)
			continue
		}
		if a.reached(out.Content) {
			t.Errorf("%s: the RUN step got out:\n%s", a.name, out.Content)
		} else {
			t.Logf("%s: refused: %s", a.name, strings.TrimSpace(out.Content))
		}
	}
	if hasCanary(log.String()) || bytes.Contains(layerBytes(t, img), []byte(canary)) {
		t.Errorf("a credential reached the build log or a layer")
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// TestRunStepCannotReachCredentials runs the attacks with every protection
// this machine allows (namespaces where the kernel permits them).
func TestRunStepCannotReachCredentials(t *testing.T) {
	asJobProcess(t, nil, runAttacks)
}

// TestRunStepCannotReachCredentialsUnderDockerDefaults runs the attacks in
// a process restricted as the Action's container is: Docker's default
// capability set and the part of its default seccomp profile that decides
// what the sandbox can use (no namespaces, no mount without CAP_SYS_ADMIN).
func TestRunStepCannotReachCredentialsUnderDockerDefaults(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the seccomp filter that stands for Docker's profile is written for amd64")
	}
	asJobProcess(t, restrictLikeDocker, runAttacks)
}

// TestRunRefusedWhereItCannotBeIsolated runs a build in a process that
// cannot restrict its RUN steps: a Docker container started with
// --cap-drop SETPCAP, so neither the bounding set can be cut nor a user
// namespace made. The step is refused, unless WithUnisolatedRun allows it.
func TestRunRefusedWhereItCannotBeIsolated(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the seccomp filter that stands for Docker's profile is written for amd64")
	}
	noSetpcap := func() error {
		if err := restrictLikeDocker(); err != nil {
			return err
		}
		return unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_SETPCAP, 0, 0, 0)
	}
	asJobProcess(t, noSetpcap, func(t *testing.T) {
		base := baseImage(t)
		hostFile := filepath.Join(t.TempDir(), "credentials")
		if err := os.WriteFile(hostFile, []byte(canary), 0o600); err != nil {
			t.Fatal(err)
		}
		ctxDir := writeContext(t, "FROM busybox\nCOPY attack /attack\nRUN chmod 755 /attack && (/attack escape-read "+hostFile+" > /escape 2>&1; true)\n",
			map[string]string{"attack": string(attackBinary(t))})
		cache := t.TempDir()
		_, err := buildWith(t, ctxDir, base, cache, newRunner(t, cache), nil)
		if !errors.Is(err, ErrNotIsolated) || !strings.Contains(err.Error(), "Dockerfile:3") {
			t.Fatalf("build error %v, want ErrNotIsolated naming the line", err)
		}
		t.Logf("refused: %v", err)
		// Allowed, the step runs, with the restrictions that could be had:
		// its own capabilities and no_new_privs still keep it in its root.
		var log bytes.Buffer
		cache = t.TempDir()
		img, err := buildWith(t, ctxDir, base, cache, newRunner(t, cache, WithUnisolatedRun(), WithLog(&log)), nil)
		if err != nil {
			t.Fatalf("build with WithUnisolatedRun: %v", err)
		}
		escape, ok := flatten(t, img)["escape"]
		if !ok || !strings.Contains(log.String(), "without full isolation") {
			t.Fatalf("the step did not run, or ran without a warning; log:\n%s", log.String())
		}
		if strings.Contains(escape.Content, canary) {
			t.Errorf("the unisolated step left its root:\n%s", escape.Content)
		}
		t.Logf("chroot escape of the unisolated step: %s", escape.Content)
	})
}

// credentialVars are variables the Action's process holds that a RUN step
// must never read.
var credentialVars = []string{"AWS_SECRET_ACCESS_KEY", "INPUT_GITHUB-TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}

const attackChildEnv = "AUTOPILOT_TEST_ATTACK_CHILD"

// asJobProcess runs the test again in a child process that stands for the
// Action's: credentials in its environment from the start (a variable set
// later would not show in /proc/<pid>/environ), and the restrictions of
// restrict, applied to the one thread that starts it, inherited by the child.
func asJobProcess(t *testing.T, restrict func() error, body func(*testing.T)) {
	if os.Getenv(attackChildEnv) != "" {
		body(t)
		return
	}
	requireRoot(t)
	env := append(os.Environ(), attackChildEnv+"="+t.Name())
	for _, k := range credentialVars {
		env = append(env, k+"="+canary+"-"+k)
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result)
	go func() {
		// Never unlocked: the thread's restrictions end with it.
		runtime.LockOSThread()
		if restrict != nil {
			if err := restrict(); err != nil {
				done <- result{err: err}
				return
			}
		}
		c := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
		c.Env = env
		out, err := c.CombinedOutput()
		done <- result{out, err}
	}()
	res := <-done
	t.Logf("job process:\n%s", res.out)
	if res.err != nil {
		t.Fatalf("job process: %v", res.err)
	}
	if !bytes.Contains(res.out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("the job process did not run the attacks")
	}
}

// dockerCapabilities is Docker's default capability set, which the
// Action's container gets.
var dockerCapabilities = []uintptr{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FSETID, unix.CAP_FOWNER, unix.CAP_MKNOD,
	unix.CAP_NET_RAW, unix.CAP_SETGID, unix.CAP_SETUID, unix.CAP_SETFCAP, unix.CAP_SETPCAP,
	unix.CAP_NET_BIND_SERVICE, unix.CAP_SYS_CHROOT, unix.CAP_KILL, unix.CAP_AUDIT_WRITE,
}

// restrictLikeDocker gives the calling thread Docker's default bounding set
// and a seccomp filter with the rules of Docker's default profile that
// matter here: namespaces (clone and unshare flags, setns), mount, umount2
// and pivot_root are refused with EPERM, clone3 with ENOSYS, as they are
// for a container without CAP_SYS_ADMIN.
func restrictLikeDocker() error {
	const (
		eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		nsMask = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
			unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP
	)
	ld := func(off uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
	}
	ret := func(v uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: v} }
	jeq := func(v uint32, skipTrue uint8) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: v, Jt: skipTrue}
	}
	// seccomp_data: nr at 0, arch at 4, args[0] (low half) at 16.
	filter := []unix.SockFilter{
		ld(4),
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.AUDIT_ARCH_X86_64, Jf: 12}, // other arch: allow
		ld(0),
		jeq(unix.SYS_UNSHARE, 8),
		jeq(unix.SYS_SETNS, 7),
		jeq(unix.SYS_MOUNT, 6),
		jeq(unix.SYS_UMOUNT2, 5),
		jeq(unix.SYS_PIVOT_ROOT, 4),
		jeq(unix.SYS_CLONE3, 4),
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_CLONE, Jf: 4},
		ld(16),
		{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: nsMask, Jf: 2},
		ret(eperm),  // 12: namespaces, mount, umount2, pivot_root
		ret(enosys), // 13: clone3
		ret(unix.SECCOMP_RET_ALLOW),
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("install the seccomp filter: %w", err)
	}
	keep := map[uintptr]bool{}
	for _, c := range dockerCapabilities {
		keep[c] = true
	}
	for c := uintptr(0); c <= unix.CAP_LAST_CAP; c++ {
		if !keep[c] {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil && err != unix.EINVAL {
				return fmt.Errorf("drop capability %d: %w", c, err)
			}
		}
	}
	return nil
}
