package run

import (
	"github.com/autopilot-dev/autopilot/internal/image"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// buildJob is one image to build: a workload's main image, or one of its
// sidecars' (sidecars.<name>.image.build).
type buildJob struct {
	workload, sidecar string
	spec              image.BuildSpec
}

func (j buildJob) name() string {
	if j.sidecar == "" {
		return j.workload
	}
	return j.workload + " sidecar " + j.sidecar
}

// sidecarJobs are the builds of a workload's sidecars with image.build, in
// the manifest's order. The sidecars are those of the manifest itself; an
// environment override may change a build (buildSpec resolves each
// environment) but not add a built sidecar.
func sidecarJobs(ws *workspace.Workspace, m *workspace.Manifest, o BuildOptions) ([]buildJob, error) {
	sidecars := workspace.Lookup(m.Doc, "sidecars")
	if sidecars == nil {
		return nil, nil
	}
	var names []string
	for i := 0; i+1 < len(sidecars.Content); i += 2 {
		if workspace.Lookup(sidecars.Content[i+1], "image", "build") != nil {
			names = append(names, sidecars.Content[i].Value)
		}
	}
	var jobs []buildJob
	for _, name := range names {
		spec, ok, err := buildSpec(ws, m, name, o)
		if err != nil {
			return nil, err
		}
		if ok {
			jobs = append(jobs, buildJob{workload: m.Name, sidecar: name, spec: spec})
		}
	}
	return jobs, nil
}

// sidecarTags are a sidecar image's tags in the workload's repository:
// "<sidecar>-<tag>", as Copilot tags them.
func sidecarTags(sidecar string, tags []string) []string {
	if sidecar == "" {
		return tags
	}
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = sidecar + "-" + t
	}
	return out
}
