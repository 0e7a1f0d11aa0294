package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// renderEnvOnly renders the environment stack of a workspace the way Render
// does, whatever its workloads' own stacks would say.
func renderEnvOnly(t *testing.T, ws *workspace.Workspace, env string) (*Stack, diag.List) {
	t.Helper()
	vars := seedOptions.Vars
	vars.App, vars.Env = ws.App, env
	decoded := map[string]*manifest.Workload{}
	for _, w := range ws.Workloads {
		doc, d := resolve(w, env, vars)
		if doc == nil {
			t.Fatalf("resolve %s: %v", w.Name, d)
		}
		m, err := manifest.DecodeWorkload(w.Kind, doc)
		if err != nil {
			t.Fatalf("decode %s: %v", w.Name, err)
		}
		decoded[w.Name] = m
	}
	return renderEnvStack(ws, findManifest(ws.Environments, env), ws.App, env, vars, decoded, seedOptions)
}

const (
	lbwsManifest    = "name: web\ntype: Load Balanced Web Service\nimage: {location: nginx, port: 80}\nhttp: {path: /}\n"
	nlbOnlyManifest = "name: tcp\ntype: Load Balanced Web Service\nimage: {location: nginx, port: 80}\nhttp: false\nnlb: {port: 80/tcp}\n"
	backendManifest = "name: api\ntype: Backend Service\nimage: {location: nginx, port: 80}\nhttp: {path: /api}\nnetwork: {vpc: {placement: private}}\n"
	workerManifest  = "name: jobs\ntype: Worker Service\nimage: {location: nginx}\nnetwork: {vpc: {placement: private}}\n"
)

func TestEnvironmentWorkloadListsComeFromTheWorkspace(t *testing.T) {
	tests := []struct {
		name                  string
		workloads             map[string]string
		alb, internalALB, nat string
		keep                  []string
	}{
		{"no load-balanced workloads keeps the live lists", nil, "", "", "",
			[]string{"ALBWorkloads", "Aliases", "EFSWorkloads", "InternalALBWorkloads", "ServiceDiscoveryEndpoint"}},
		{"public service switches the public ALB on", map[string]string{"web": lbwsManifest, "tcp": nlbOnlyManifest}, "web", "", "",
			[]string{"Aliases", "EFSWorkloads", "InternalALBWorkloads", "ServiceDiscoveryEndpoint"}},
		{"backend with http switches the internal ALB and NAT on", map[string]string{"api": backendManifest, "jobs": workerManifest}, "", "api", "api,jobs",
			[]string{"ALBWorkloads", "Aliases", "EFSWorkloads", "ServiceDiscoveryEndpoint"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n"}
			for name, body := range tc.workloads {
				files["copilot/"+name+"/manifest.yml"] = body
			}
			st, diags := renderEnvOnly(t, loadWorkspace(t, "demo", files), "test")
			if diags.HasErrors() {
				t.Fatalf("render: %v", diags)
			}
			got := map[string]string{"ALBWorkloads": st.Parameters["ALBWorkloads"], "InternalALBWorkloads": st.Parameters["InternalALBWorkloads"], "NATWorkloads": st.Parameters["NATWorkloads"]}
			want := map[string]string{"ALBWorkloads": tc.alb, "InternalALBWorkloads": tc.internalALB, "NATWorkloads": tc.nat}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("workload lists (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.keep, st.KeepPrevious); diff != "" {
				t.Errorf("KeepPrevious (-want +got):\n%s", diff)
			}
			validateTemplate(t, tc.name, st.Template)
		})
	}
}

func TestEnvironmentLoadBalancerSettings(t *testing.T) {
	imported := `network:
  vpc:
    id: vpc-1
    subnets:
      public: [{id: subnet-p1}, {id: subnet-p2}]
      private: [{id: subnet-a}, {id: subnet-b}, {id: subnet-c}]
`
	tests := []struct {
		name, manifest string
		params         map[string]string
		facts          map[string]string // path (dot-separated) -> flow form
		absent         []string
	}{
		{
			name:     "source IPs restrict the public ALB",
			manifest: "http:\n  public:\n    ingress:\n      source_ips: [10.1.0.0/16, 192.168.0.0/24]\n",
			params:   map[string]string{"CreateHTTPSListener": "false", "CreateInternalHTTPSListener": "false"},
			facts: map[string]string{
				"Resources.PublicHTTPLoadBalancerSecurityGroup.Properties.SecurityGroupIngress": "[{CidrIp: 10.1.0.0/16, Description: Allow ingress from source IP 10.1.0.0/16 on port 80, FromPort: 80, IpProtocol: tcp, ToPort: 80}, " +
					"{CidrIp: 192.168.0.0/24, Description: Allow ingress from source IP 192.168.0.0/24 on port 80, FromPort: 80, IpProtocol: tcp, ToPort: 80}]",
				"Resources.PublicLoadBalancer.Properties.Subnets": "[!Ref PublicSubnet1, !Ref PublicSubnet2]",
				"Outputs.PublicALBAccessible.Value":               "true",
			},
			absent: []string{"Resources.HTTPSListener", "Outputs.HTTPSListenerArn", "Resources.InternalLoadBalancerSecurityGroupIngressFromHttp"},
		},
		{
			name: "imported certificates, SSL policy and access logs to an existing bucket",
			manifest: "http:\n  public:\n    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/a, arn:aws:acm:us-east-1:123456789012:certificate/b]\n" +
				"    ssl_policy: ELBSecurityPolicy-TLS13-1-2-2021-06\n    access_logs: {bucket_name: my-logs, prefix: env}\n",
			params: map[string]string{"CreateHTTPSListener": "true", "CreateInternalHTTPSListener": "false"},
			facts: map[string]string{
				"Resources.HTTPSListener.Properties.Certificates":                "[{CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/a'}]",
				"Resources.HTTPSListener.Properties.SslPolicy":                   "ELBSecurityPolicy-TLS13-1-2-2021-06",
				"Resources.HTTPSImportCertificate2.Properties.Certificates":      "[{CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/b'}]",
				"Resources.PublicLoadBalancer.Properties.LoadBalancerAttributes": "[{Key: access_logs.s3.enabled, Value: true}, {Key: access_logs.s3.prefix, Value: env}, {Key: access_logs.s3.bucket, Value: my-logs}]",
				"Outputs.HTTPSListenerArn.Export.Name":                           "!Sub ${AWS::StackName}-HTTPSListenerArn",
			},
		},
		{
			name:     "imported VPC, internal ALB in chosen subnets with VPC ingress and private certificates",
			manifest: imported + "http:\n  private:\n    subnets: [subnet-a, subnet-c]\n    ingress: {vpc: true}\n    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/p]\n",
			params:   map[string]string{"CreateHTTPSListener": "false", "CreateInternalHTTPSListener": "true"},
			facts: map[string]string{
				"Resources.InternalLoadBalancer.Properties.Subnets":                     "[subnet-a, subnet-c]",
				"Resources.PublicLoadBalancer.Properties.Subnets":                       "[subnet-p1, subnet-p2]",
				"Resources.DefaultInternalHTTPTargetGroup.Properties.VpcId":             "vpc-1",
				"Resources.InternalLoadBalancerSecurityGroupIngressFromHttps.Condition": "ExportInternalHTTPSListener",
				"Resources.InternalHTTPSListener.Properties.Certificates":               "[{CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/p'}]",
			},
			// With private certificates Copilot leaves the internal hosted zone out.
			absent: []string{"Resources.InternalWorkloadsHostedZone", "Outputs.InternalWorkloadsHostedZone", "Outputs.InternalWorkloadsHostedZoneName"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", map[string]string{
				"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n" + tc.manifest,
				"copilot/web/manifest.yml":               lbwsManifest,
			})
			st, diags := renderEnvOnly(t, ws, "test")
			if diags.HasErrors() {
				t.Fatalf("render: %v", diags)
			}
			for k, v := range tc.params {
				if st.Parameters[k] != v {
					t.Errorf("parameter %s = %q, want %q", k, st.Parameters[k], v)
				}
			}
			root := parseTemplate(t, st.Template)
			for path, want := range tc.facts {
				if got := flowString(t, nodeAt(root, strings.Split(path, ".")...)); got != want {
					t.Errorf("%s =\n  %s\nwant\n  %s", path, got, want)
				}
			}
			for _, path := range tc.absent {
				if n := nodeAt(root, strings.Split(path, ".")...); n != nil {
					t.Errorf("%s is rendered; want it left out", path)
				}
			}
			validateTemplate(t, tc.name, st.Template)
		})
	}
}

func TestEnvironmentLoadBalancerRefusals(t *testing.T) {
	tests := []struct {
		name, manifest, want string
	}{
		{"imported VPC without public subnets", "network:\n  vpc:\n    id: vpc-1\n    subnets:\n      private: [{id: subnet-a}, {id: subnet-b}]\n",
			"the public load balancer of web needs at least two public subnets"},
		{"private subnets with a managed VPC", "http:\n  private:\n    subnets: [subnet-a]\n", "http.private.subnets can only be set with an imported VPC"},
		{"source IP that is not a CIDR", "http:\n  public:\n    ingress:\n      source_ips: [1.2.3.4]\n", "parse IPNet 1.2.3.4: invalid CIDR address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", map[string]string{
				"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n" + tc.manifest,
				"copilot/web/manifest.yml":               lbwsManifest,
			})
			_, diags := renderEnvOnly(t, ws, "test")
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Severity == diag.Error && strings.Contains(d.Message, tc.want) }) {
				t.Errorf("findings %v do not contain an error %q", diags, tc.want)
			}
		})
	}
}
