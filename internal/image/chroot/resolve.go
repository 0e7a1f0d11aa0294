package chroot

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// errEscape marks a path that leaves the scratch root.
var errEscape = errors.New("path escapes the image's root")

// resolveIn resolves p as a process chrooted at root would see it: absolute
// symlinks start again at root and ".." stops at root. It returns a host
// path inside root. Symlinks in the last component are followed only when
// followLast is set. It is used for lookups (PATH, WORKDIR, /etc/passwd),
// never to write what a layer says.
func resolveIn(root, p string, followLast bool) (string, error) {
	const maxLinks = 40
	links := 0
	parts := splitPath(p)
	var done []string
	for len(parts) > 0 {
		name := parts[0]
		parts = parts[1:]
		switch name {
		case ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := filepath.Join(append([]string{root}, append(done, name)...)...)
		fi, err := os.Lstat(cur)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 || (len(parts) == 0 && !followLast) {
			// A missing component ends the walk: the rest is created or reported by the caller.
			done = append(done, name)
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			done = nil
		}
		parts = append(splitPath(target), parts...)
	}
	return filepath.Join(append([]string{root}, done...)...), nil
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// credential is the uid, gid and groups a RUN step runs as.
type credential struct {
	uid, gid uint32
	groups   []uint32
	home     string
}

// lookupUser resolves a Dockerfile USER value ("name", "uid", "name:group",
// "uid:gid") with the image's /etc/passwd and /etc/group, as Docker does.
func lookupUser(root, user string) (credential, error) {
	if user == "" {
		user = "root"
	}
	userPart, groupPart, hasGroup := strings.Cut(user, ":")
	passwd := readColonFile(root, "/etc/passwd")
	groups := readColonFile(root, "/etc/group")
	cred := credential{home: "/"}
	var name string
	found := false
	for _, f := range passwd {
		if len(f) < 7 {
			continue
		}
		if f[0] == userPart || f[2] == userPart {
			uid, err1 := strconv.ParseUint(f[2], 10, 32)
			gid, err2 := strconv.ParseUint(f[3], 10, 32)
			if err1 != nil || err2 != nil {
				continue
			}
			cred.uid, cred.gid, cred.home, name, found = uint32(uid), uint32(gid), f[5], f[0], true
			break
		}
	}
	if !found && userPart == "root" {
		found = true // uid 0 needs no passwd entry, as in Docker
	}
	if !found {
		uid, err := strconv.ParseUint(userPart, 10, 32)
		if err != nil {
			return credential{}, fmt.Errorf("USER %s: no user %q in the image's /etc/passwd; add it (e.g. RUN adduser) or use a numeric uid", user, userPart)
		}
		cred.uid, cred.gid = uint32(uid), 0
	}
	if hasGroup {
		gid, ok := groupID(groups, groupPart)
		if !ok {
			return credential{}, fmt.Errorf("USER %s: no group %q in the image's /etc/group; add it or use a numeric gid", user, groupPart)
		}
		cred.gid = gid
		return cred, nil // an explicit group replaces the supplementary groups, as in Docker
	}
	if name != "" {
		for _, f := range groups {
			if len(f) < 4 {
				continue
			}
			for _, member := range strings.Split(f[3], ",") {
				if member == name {
					if gid, err := strconv.ParseUint(f[2], 10, 32); err == nil && uint32(gid) != cred.gid {
						cred.groups = append(cred.groups, uint32(gid))
					}
				}
			}
		}
	}
	return cred, nil
}

func groupID(groups [][]string, g string) (uint32, bool) {
	for _, f := range groups {
		if len(f) >= 3 && f[0] == g {
			if gid, err := strconv.ParseUint(f[2], 10, 32); err == nil {
				return uint32(gid), true
			}
		}
	}
	if gid, err := strconv.ParseUint(g, 10, 32); err == nil {
		return uint32(gid), true
	}
	return 0, false
}

// readColonFile reads a passwd-style file of the image; a missing file reads as empty.
func readColonFile(root, name string) [][]string {
	p, err := resolveIn(root, name, true)
	if err != nil {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}

// lookPath finds an exec-form command in the image's PATH, as the
// container's own execvp would.
func lookPath(root, file, pathEnv string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !path.IsAbs(dir) {
			continue
		}
		candidate := path.Join(dir, file)
		host, err := resolveIn(root, candidate, true)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(host); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("%q not found in the image's PATH (%s)", file, pathEnv)
}
