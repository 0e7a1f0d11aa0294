package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
)

// Fingerprint hashes what a deploy would apply: every stack's template,
// parameters, tags, assets and image digests. It does not depend on the
// order of stacks, parameters or images, so a plan and a later deploy of
// the same inputs agree.
func Fingerprint(stacks []Stack) string {
	sorted := append([]Stack(nil), stacks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	h := sha256.New()
	for _, s := range sorted {
		field(h, "stack", s.Name)
		field(h, "template", digest(s.Template))
		for _, k := range sortedKeys(s.Parameters) {
			field(h, "param", k, s.Parameters[k])
		}
		for _, k := range sortedKeys(s.Tags) {
			field(h, "tag", k, s.Tags[k])
		}
		for _, k := range sortedKeys(s.Assets) {
			field(h, "asset", k, digest(s.Assets[k]))
		}
		for _, k := range sortedKeys(s.Objects) {
			field(h, "object", k, digest(s.Objects[k]))
		}
		images := make([]string, 0, len(s.Images))
		for _, img := range s.Images {
			images = append(images, img.Workload+"\x00"+img.Repository+"\x00"+img.Tag+"\x00"+img.Digest)
		}
		sort.Strings(images)
		for _, img := range images {
			field(h, "image", img)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// field writes length-prefixed parts so that no two inputs hash alike by
// shifting bytes between parts.
func field(h hash.Hash, parts ...string) {
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	h.Write([]byte{'\n'})
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
