package render

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// FuzzRenderRDWS checks that no manifest or addon template makes rendering
// panic, and that whatever renders parses back as YAML.
func FuzzRenderRDWS(f *testing.F) {
	f.Add(copilotRDWSManifest, "Parameters: {App: {Type: String}, Env: {Type: String}, Name: {Type: String}}\nResources: {T: {Type: AWS::SNS::Topic}}\nOutputs: {O: {Value: !Ref T}}\n")
	f.Add("name: x\ntype: Request-Driven Web Service\nimage: {location: public.ecr.aws/a/b, port: 1}\nhttp: {private: {endpoint: v}, healthcheck: {interval: 1s}}\n", "Resources: []\n")
	f.Add("image: [1]\nsecrets: {A: [x]}\nvariables: {B: {from_cfn: 1}}\n", ": :\n")
	f.Fuzz(func(t *testing.T, text, addon string) {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil || len(doc.Content) == 0 {
			return
		}
		m, err := manifest.DecodeWorkload(workspace.RequestDrivenWebService, doc.Content[0])
		if err != nil {
			return
		}
		st, _ := renderRDWS(rdwsInput{
			app: "app", env: "test", file: "manifest.yml", name: "svc", m: m,
			addons: &workspace.Addons{Dir: "addons", Templates: []workspace.AddonTemplate{{Path: "addons/a.yml", Raw: []byte(addon)}}},
			opts:   seedOptions,
		})
		if st == nil {
			return
		}
		var back yaml.Node
		if err := yaml.Unmarshal(st.Template, &back); err != nil {
			t.Fatalf("rendered template does not parse: %v", err)
		}
	})
}
