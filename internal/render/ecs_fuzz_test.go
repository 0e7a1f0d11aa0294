package render

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// FuzzRenderECSService checks that no ECS workload manifest (Load Balanced
// Web, Backend, Worker Service, Scheduled Job) makes rendering or the
// environment's needs analysis panic, and that whatever renders parses back
// as YAML.
func FuzzRenderECSService(f *testing.F) {
	f.Add(string(workspace.LoadBalancedWebService), copilotWindowsManifest)
	f.Add(string(workspace.BackendService), copilotBackendHTTPManifest)
	f.Add(string(workspace.LoadBalancedWebService), "image: {port: 1}\nhttp: {path: x, healthcheck: {interval: 1}}\ncount: {range: {min: 1}, cpu_percentage: {value: x}}\n")
	f.Add(string(workspace.WorkerService), copilotWorkerManifest)
	f.Add(string(workspace.ScheduledJob), copilotJobManifest)
	f.Add(string(workspace.BackendService), "count: {range: 5-1, requests: 1, cooldown: {in: 1}}\nnetwork: {vpc: {security_groups: {groups: [{}], deny_default: x}}}\nstorage: {volumes: {a: {efs: {uid: 1}}}}\n")
	f.Fuzz(func(t *testing.T, kind, text string) {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil || len(doc.Content) == 0 {
			return
		}
		k := workspace.Kind(kind)
		m, err := manifest.DecodeWorkload(k, doc.Content[0])
		if err != nil || m.ECS == nil {
			return
		}
		_ = needsOf(m)
		in := ecsInput{app: "app", env: "test", file: "manifest.yml", name: "svc", kind: k, m: m, opts: seedOptions, priorities: []int{1000}}
		var st *Stack
		switch k {
		case workspace.LoadBalancedWebService, workspace.BackendService:
			st, _ = renderECSService(in)
		case workspace.WorkerService:
			st, _ = renderWorker(in, map[string]workspace.Kind{"dogsvc/givesdogs": workspace.BackendService})
		case workspace.ScheduledJob:
			st, _ = renderJob(in)
		default:
			return
		}
		if st == nil {
			return
		}
		var back yaml.Node
		if err := yaml.Unmarshal(st.Template, &back); err != nil {
			t.Fatalf("rendered template does not parse: %v", err)
		}
	})
}
