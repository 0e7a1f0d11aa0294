package chroot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// A RUN step is started through a copy of this very program (/proc/self/exe)
// under the name stepHelper: the Go runtime cannot run code between fork and
// exec, and the capability bounding set, no_new_privs, pivot_root and the
// mounts of the step's namespaces must be set there, on the thread that
// then execs the step. The helper reads its stepSpec from fd 3, reports a
// failure on fd 4 (closed on exec, so EOF means the step is running) and
// never returns to the program's own main.
const stepHelper = "autopilot-run-step"

func init() {
	if len(os.Args) > 0 && os.Args[0] == stepHelper {
		runtime.LockOSThread()
		status := os.NewFile(4, "status")
		err := stepMain()
		fmt.Fprint(status, err)
		os.Exit(127)
	}
}

// stepCapabilities are the capabilities a RUN step as root keeps: what
// package managers and builds use (ownership, permissions, switching user).
// Everything else leaves the bounding set, among them CAP_SYS_CHROOT (the
// chroot escape), CAP_SYS_ADMIN (mount, namespaces), CAP_SYS_PTRACE,
// CAP_DAC_READ_SEARCH (open_by_handle_at reaches files outside a chroot),
// CAP_MKNOD (a device node of the host's disk), CAP_NET_RAW, CAP_SETPCAP
// and CAP_SETFCAP, which Docker's default set still has.
var stepCapabilities = []uintptr{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER, unix.CAP_FSETID, unix.CAP_KILL,
	unix.CAP_SETGID, unix.CAP_SETUID, unix.CAP_NET_BIND_SERVICE, unix.CAP_AUDIT_WRITE,
}

// stepSpec is what the helper needs to start a step.
type stepSpec struct {
	Probe bool // check what can be had, report it on fd 4 as JSON, exit
	Root  string
	// Pivot: the helper is in a new mount namespace; it makes the root
	// the namespace's root (pivot_root) and detaches the host's, instead
	// of chroot.
	Pivot     bool
	MountProc bool // mount a /proc of the step's PID namespace
	UserNS    bool // in a new user namespace: forbid nested ones
	// Unisolated runs the step even if a restriction fails (the workflow
	// opted in); it keeps those that could be applied.
	Unisolated bool
	UID, GID   uint32
	Groups     []uint32
	Dir, Path  string
	Args, Env  []string
}

// Isolation says which protections a RUN step gets on this machine.
type Isolation struct {
	UserNS, MountNS, PIDNS, NetNS bool // new namespaces the kernel and runtime allow
	Proc                          bool // a /proc of the step's own PID namespace
	// Restricted: the bounding set was cut to stepCapabilities and
	// no_new_privs set. Without it the step is not isolated (Err says why).
	Restricted bool
	Err        string `json:",omitempty"`
}

func (i Isolation) String() string {
	var have []string
	for _, p := range []struct {
		ok   bool
		name string
	}{{i.UserNS, "user"}, {i.MountNS, "mount"}, {i.PIDNS, "pid"}, {i.NetNS, "network"}} {
		if p.ok {
			have = append(have, p.name)
		}
	}
	s := "chroot"
	if i.MountNS {
		s = "pivot_root"
	}
	if len(have) > 0 {
		s += ", new " + strings.Join(have, "/") + " namespaces"
	} else {
		s += ", no new namespaces"
	}
	if i.Restricted {
		s += ", capabilities dropped, no_new_privs"
	} else {
		s += ", NOT restricted: " + i.Err
	}
	if i.Proc {
		s += ", own /proc"
	} else {
		s += ", no /proc"
	}
	return s
}

// cloneFlags are the namespaces a step is started in, strongest first: the
// first set the kernel and the container runtime accept is used. Docker's
// default seccomp profile refuses them all (clone with namespace flags
// needs CAP_SYS_ADMIN there), leaving chroot and the restrictions.
var cloneFlags = []uintptr{
	unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNET,
	unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS,
	unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNET,
	unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS,
	unix.CLONE_NEWNET,
	0,
}

// isolation is what this process's steps get: it does not change while
// the process runs, so every Runner shares one probe.
var isolation prober

// prober finds, once, the namespaces and restrictions a step can have.
type prober struct {
	once  sync.Once
	flags uintptr
	iso   Isolation
}

func (p *prober) probe(scratch string) (uintptr, Isolation) {
	p.once.Do(func() {
		var err error
		for _, flags := range cloneFlags {
			var iso Isolation
			if iso, err = probeWith(scratch, flags); err != nil {
				continue // the kernel or seccomp refused these namespaces
			}
			p.flags, p.iso = flags, iso
			return
		}
		p.iso = Isolation{Err: fmt.Sprintf("the step helper could not be started: %v", err)}
	})
	return p.flags, p.iso
}

// probeWith starts the helper in probe mode with flags; an error means the
// namespaces were refused.
func probeWith(scratch string, flags uintptr) (Isolation, error) {
	dir, err := os.MkdirTemp(scratch, "probe-")
	if err != nil {
		return Isolation{}, err
	}
	defer os.RemoveAll(dir)
	if err := os.Mkdir(dir+"/proc", 0o755); err != nil {
		return Isolation{}, err
	}
	var out strings.Builder
	status, err := startHelper(flags, stepSpec{Probe: true, Root: dir, Pivot: flags&unix.CLONE_NEWNS != 0,
		MountProc: flags&unix.CLONE_NEWPID != 0, UserNS: flags&unix.CLONE_NEWUSER != 0}, &out, &out)
	if err != nil {
		return Isolation{}, err
	}
	if err := status.c.Wait(); err != nil {
		return Isolation{}, fmt.Errorf("probe: %v: %s%s", err, status.msg, out.String())
	}
	var iso Isolation
	if err := json.Unmarshal([]byte(status.msg), &iso); err != nil {
		return Isolation{}, fmt.Errorf("probe answered %q: %w", status.msg, err)
	}
	iso.UserNS = flags&unix.CLONE_NEWUSER != 0
	iso.MountNS = flags&unix.CLONE_NEWNS != 0
	iso.PIDNS = flags&unix.CLONE_NEWPID != 0
	iso.NetNS = flags&unix.CLONE_NEWNET != 0
	return iso, nil
}

// started is a running helper and what it reported before exec.
type started struct {
	c   *exec.Cmd
	msg string // empty: the step is running
}

// startHelper starts the helper in new namespaces (flags) and hands it the
// spec. It returns once the helper has exec'd the step or failed.
func startHelper(flags uintptr, spec stepSpec, stdout, stderr io.Writer) (*started, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer specR.Close()
	defer specW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer statusR.Close()
	c := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{stepHelper},
		Env:        []string{}, // nothing of autopilot's environment
		Stdout:     stdout,
		Stderr:     stderr,
		ExtraFiles: []*os.File{specR, statusW},
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:    true,
			Pdeathsig:  syscall.SIGKILL,
			Cloneflags: flags,
		},
	}
	if flags&unix.CLONE_NEWUSER != 0 {
		// Identity mappings: files keep their owners; the step's
		// capabilities count in its own namespace only, never on the host.
		full := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}}
		c.SysProcAttr.UidMappings, c.SysProcAttr.GidMappings = full, full
		c.SysProcAttr.GidMappingsEnableSetgroups = true
	}
	err = c.Start()
	statusW.Close()
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(specW).Encode(spec); err != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
		return nil, fmt.Errorf("hand the step to the sandbox helper: %w", err)
	}
	specW.Close()
	msg, _ := io.ReadAll(statusR)
	return &started{c: c, msg: string(msg)}, nil
}

// stepMain is the helper: it isolates itself and execs the step. It
// returns only on failure.
func stepMain() error {
	unix.CloseOnExec(4)
	var spec stepSpec
	if err := json.NewDecoder(os.NewFile(3, "spec")).Decode(&spec); err != nil {
		return fmt.Errorf("read the step: %w", err)
	}
	unix.Close(3)
	if spec.UserNS {
		// A step could otherwise make a user namespace of its own and
		// regain every capability there (chroot among them).
		if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
			return fmt.Errorf("forbid nested user namespaces: %w", err)
		}
	}
	iso := Isolation{}
	if err := enterRoot(spec, &iso); err != nil {
		return err
	}
	notIsolated, err := restrict(spec)
	if err != nil {
		return err
	}
	if notIsolated != nil && !spec.Unisolated && !spec.Probe {
		return notIsolated
	}
	iso.Restricted = notIsolated == nil
	if !iso.Restricted {
		iso.Err = notIsolated.Error()
	}
	if spec.Probe {
		b, _ := json.Marshal(iso)
		os.NewFile(4, "status").Write(b)
		os.Exit(0)
	}
	if err := unix.Chdir(spec.Dir); err != nil {
		return fmt.Errorf("chdir %s: %w", spec.Dir, err)
	}
	err = unix.Exec(spec.Path, spec.Args, spec.Env)
	return fmt.Errorf("exec %s: %w", spec.Path, err)
}

// enterRoot makes spec.Root the step's root: pivot_root in a new mount
// namespace (the host's tree is detached, nothing is left to climb to),
// chroot otherwise.
func enterRoot(spec stepSpec, iso *Isolation) error {
	if !spec.Pivot {
		if err := unix.Chroot(spec.Root); err != nil {
			return fmt.Errorf("chroot %s: %w", spec.Root, err)
		}
		return unix.Chdir("/")
	}
	// Nothing done here may reach the host's mount namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount(spec.Root, spec.Root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind the root: %w", err)
	}
	if spec.MountProc {
		// The runner made <root>/proc a real folder; this /proc shows the
		// step's own PID namespace only.
		err := unix.Mount("proc", spec.Root+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		iso.Proc = err == nil
	}
	if err := unix.Chdir(spec.Root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's root: %w", err)
	}
	return unix.Chdir("/")
}

// restrict switches to the step's user with only stepCapabilities left in
// the bounding set, none inheritable or ambient, and no_new_privs, so no
// exec (setuid files included) gives any back. Every restriction is tried
// even when one fails (an unisolated step keeps what could be had);
// notIsolated lists those that failed. A failed user switch is fatal.
func restrict(spec stepSpec) (notIsolated, fatal error) {
	keep := map[uintptr]bool{}
	var set uint32
	for _, c := range stepCapabilities {
		keep[c] = true
		set |= 1 << c
	}
	var errs []error
	for c := uintptr(0); ; c++ {
		if keep[c] {
			continue
		}
		err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			break // past the kernel's last capability
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("drop capability %d from the bounding set (needs CAP_SETPCAP): %w", c, err))
			break
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		errs = append(errs, fmt.Errorf("clear ambient capabilities: %w", err))
	}
	if !spec.Probe {
		if err := switchUser(spec); err != nil {
			return nil, err
		}
	}
	if spec.UID == 0 || spec.Probe {
		// A user other than root has none left after setuid.
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		data := [2]unix.CapUserData{{Effective: set, Permitted: set}}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errs = append(errs, fmt.Errorf("limit capabilities: %w", err))
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		errs = append(errs, fmt.Errorf("set no_new_privs: %w", err))
	}
	return errors.Join(errs...), nil
}

func switchUser(spec stepSpec) error {
	groups := make([]int, len(spec.Groups))
	for i, g := range spec.Groups {
		groups[i] = int(g)
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := unix.Setresgid(int(spec.GID), int(spec.GID), int(spec.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", spec.GID, err)
	}
	if err := unix.Setresuid(int(spec.UID), int(spec.UID), int(spec.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", spec.UID, err)
	}
	// Changing the user cleared the parent-death signal.
	return unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
}

// Isolation probes, once, what protections RUN steps get here.
func (r *Runner) Isolation() Isolation {
	_, iso := isolation.probe(r.scratch)
	return iso
}
