package render

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// FuzzTaskFeatures checks that no combination of sidecars, logging,
// storage, overrides, alarms, Service Connect or nlb makes rendering panic,
// and that whatever renders parses back as YAML.
func FuzzTaskFeatures(f *testing.F) {
	f.Add(string(workspace.LoadBalancedWebService), copilotSidecarManifest)
	f.Add(string(workspace.LoadBalancedWebService), copilotNLBManifest)
	f.Add(string(workspace.BackendService), copilotBackendSidecarManifest)
	f.Add(string(workspace.ScheduledJob), copilotManagedEFSManifest)
	f.Add(string(workspace.ScheduledJob), copilotJobSidecarManifest)
	f.Add(string(workspace.BackendService), "image: {location: x, port: 80}\ntaskdef_overrides:\n  - {path: 'ContainerDefinitions[0].Ulimits[-].HardLimit', value: 1}\n  - {path: 'Cpu[0]', value: 1}\n")
	f.Add(string(workspace.WorkerService), "image: {location: x}\ndeployment: {rollback_alarms: {messages_delayed: 1}}\nobservability: {tracing: awsxray}\nnetwork: {connect: {alias: a}}\n")
	f.Add(string(workspace.LoadBalancedWebService), "image: {location: x, port: 80}\nhttp: false\nnlb: {port: 1/udp, target_container: s, additional_listeners: [{port: x}]}\nsidecars: {s: {image: y, port: 1/udp, depends_on: {svc: healthy}}}\n")
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
		in := ecsInput{app: "app", env: "test", file: "manifest.yml", name: "svc", kind: k, m: m, opts: seedOptions, priorities: []int{1000}}
		var st *Stack
		switch k {
		case workspace.LoadBalancedWebService, workspace.BackendService:
			st, _ = renderECSService(in)
		case workspace.WorkerService:
			st, _ = renderWorker(in, nil)
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
