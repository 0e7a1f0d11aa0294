package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// Copilot's backend/http-only-path-manifest.yml (v1.33.2), restated, and the
// facts of http-only-path-template.yml / -params.json rendered for it in
// environment "my-env" of app "my-app".
const copilotBackendHTTPManifest = `name: http-only-path
type: Backend Service
http:
  path: "http-only-path-path"
image:
  build: Dockerfile
  port: 8080
cpu: 512
memory: 1024
count: 1
exec: true
`

var copilotBackendHTTPResources = []string{
	"AddonsStack:AWS::CloudFormation::Stack@HasAddons",
	"DiscoveryService:AWS::ServiceDiscovery::Service",
	"ExecutionRole:AWS::IAM::Role",
	"HTTPListenerRule:AWS::ElasticLoadBalancingV2::ListenerRule",
	"LoadBalancerInternalDNSAlias:AWS::Route53::RecordSetGroup",
	"LogGroup:AWS::Logs::LogGroup",
	"Service:AWS::ECS::Service",
	"TargetGroup:AWS::ElasticLoadBalancingV2::TargetGroup",
	"TaskDefinition:AWS::ECS::TaskDefinition",
	"TaskRole:AWS::IAM::Role",
}

var copilotBackendParameters = []string{"AddonsTemplateURL", "AppName", "ArtifactKeyARN", "ContainerImage", "ContainerPort", "EnvFileARN", "EnvName",
	"HTTPSEnabled", "LogRetention", "RulePath", "TargetContainer", "TargetPort", "TaskCPU", "TaskCount", "TaskMemory", "WorkloadName"}

// Copilot's backend/https-path-alias-manifest.yml, restated: aliases in
// two hosted zones (one named by the alias, one by the service) in an
// environment whose internal load balancer imports a certificate.
const copilotBackendAliasManifest = `name: https-path-alias
type: Backend Service
http:
  path: https-path-alias-path
  alias:
    - name: example.com
      hosted_zone: mockHostedZone2
    - name: foobar.com
    - name: "*.foobar.com"
  hosted_zone: mockHostedZone1
image:
  build: Dockerfile
  port: 80
cpu: 512
memory: 1024
count: 1
exec: true
`

func TestBackendMatchesCopilotTestdata(t *testing.T) {
	tests := []struct {
		name, copilotFile, manifest, envManifest string
		resources, parameters                    []string
		params                                   map[string]string
		facts                                    map[string]string
		internalALB                              string
	}{
		{
			name: "http on the internal load balancer", copilotFile: "backend/http-only-path-template.yml", manifest: copilotBackendHTTPManifest,
			resources: copilotBackendHTTPResources, parameters: without(copilotBackendParameters, unusedLBWSParameters...),
			params: map[string]string{"TargetPort": "8080", "TaskCPU": "512", "TaskMemory": "1024", "TaskCount": "1", "LogRetention": "30"},
			facts: map[string]string{
				"Resources.HTTPListenerRule.Properties.Conditions": "[{Field: host-header, HostHeaderConfig: {Values: [{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalLoadBalancerDNS'}, " +
					"!Join [., [!Ref WorkloadName, {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalWorkloadsHostedZoneName'}]]]}}, " +
					"{Field: path-pattern, PathPatternConfig: {Values: [/http-only-path-path, /http-only-path-path/*]}}]",
				"Resources.HTTPListenerRule.Properties.ListenerArn":                                       "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalHTTPListenerArn'}",
				"Resources.LoadBalancerInternalDNSAlias.Properties.HostedZoneId":                          "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalWorkloadsHostedZoneID'}",
				"Resources.LoadBalancerInternalDNSAlias.Properties.RecordSets.0.AliasTarget.HostedZoneId": "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalLoadBalancerCanonicalHostedZoneID'}",
				"Resources.Service.Properties.ServiceRegistries":                                          "!If [ExposePort, [{RegistryArn: !GetAtt DiscoveryService.Arn, Port: !Ref TargetPort}], !Ref 'AWS::NoValue']",
				"Resources.Service.Properties.LoadBalancers":                                              "[{ContainerName: http-only-path, ContainerPort: 8080, TargetGroupArn: !Ref TargetGroup}]",
				"Resources.Service.Properties.EnableExecuteCommand":                                       "true",
				"Resources.Service.DependsOn":                                                             "[HTTPListenerRule]",
				"Resources.TaskDefinition.Properties.ContainerDefinitions.0.PortMappings":                 "[{ContainerPort: 8080, Protocol: tcp, Name: target}]",
				"Conditions.ExposePort":                                                                   "!Not [!Equals [!Ref TargetPort, -1]]",
			},
			internalALB: "http-only-path",
		},
		{
			name: "https with aliases in two hosted zones", copilotFile: "backend/https-path-alias-template.yml", manifest: copilotBackendAliasManifest,
			envManifest: "http:\n  private:\n    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/example-com]\n",
			resources: with(without(copilotBackendHTTPResources, "HTTPListenerRule:AWS::ElasticLoadBalancingV2::ListenerRule", "LoadBalancerInternalDNSAlias:AWS::Route53::RecordSetGroup"),
				"HTTPListenerRuleWithDomain:AWS::ElasticLoadBalancingV2::ListenerRule", "HTTPSListenerRule:AWS::ElasticLoadBalancingV2::ListenerRule",
				"LoadBalancerDNSAliasmockHostedZone1:AWS::Route53::RecordSetGroup", "LoadBalancerDNSAliasmockHostedZone2:AWS::Route53::RecordSetGroup"),
			parameters: without(copilotBackendParameters, unusedLBWSParameters...),
			params:     map[string]string{"TargetPort": "80", "TaskCPU": "512", "TaskMemory": "1024"},
			facts: map[string]string{
				"Resources.HTTPListenerRuleWithDomain.Properties.Actions": "[{Type: redirect, RedirectConfig: {Protocol: HTTPS, Port: 443, Host: '#{host}', Path: '/#{path}', Query: '#{query}', StatusCode: HTTP_301}}]",
				"Resources.HTTPListenerRuleWithDomain.Properties.Conditions": "[{Field: host-header, HostHeaderConfig: {Values: [example.com, foobar.com, '*.foobar.com']}}, " +
					"{Field: path-pattern, PathPatternConfig: {Values: [/https-path-alias-path, /https-path-alias-path/*]}}]",
				"Resources.HTTPListenerRuleWithDomain.Properties.ListenerArn": "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalHTTPListenerArn'}",
				"Resources.HTTPSListenerRule.Properties.Actions":              "[{TargetGroupArn: !Ref TargetGroup, Type: forward}]",
				"Resources.HTTPSListenerRule.Properties.Conditions": "[{Field: host-header, HostHeaderConfig: {Values: [example.com, foobar.com, '*.foobar.com']}}, " +
					"{Field: path-pattern, PathPatternConfig: {Values: [/https-path-alias-path, /https-path-alias-path/*]}}]",
				"Resources.HTTPSListenerRule.Properties.ListenerArn":                    "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalHTTPSListenerArn'}",
				"Resources.LoadBalancerDNSAliasmockHostedZone1.Properties.HostedZoneId": "mockHostedZone1",
				"Resources.LoadBalancerDNSAliasmockHostedZone1.Properties.Comment":      "!Sub LoadBalancer aliases for service ${WorkloadName} in hosted zone mockHostedZone1",
				"Resources.LoadBalancerDNSAliasmockHostedZone1.Properties.RecordSets": "[{Name: foobar.com, Type: A, AliasTarget: {HostedZoneId: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalLoadBalancerCanonicalHostedZoneID'}, " +
					"DNSName: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalLoadBalancerDNS'}}}, {Name: '*.foobar.com', Type: A, AliasTarget: {HostedZoneId: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalLoadBalancerCanonicalHostedZoneID'}, " +
					"DNSName: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-InternalLoadBalancerDNS'}}}]",
				"Resources.LoadBalancerDNSAliasmockHostedZone2.Properties.RecordSets.0.Name": "example.com",
				"Resources.Service.DependsOn":                "[HTTPListenerRuleWithDomain, HTTPSListenerRule]",
				"Resources.Service.Properties.LoadBalancers": "[{ContainerName: https-path-alias, ContainerPort: 80, TargetGroupArn: !Ref TargetGroup}]",
			},
			internalALB: "https-path-alias",
		},
		{
			// simple-manifest-without-port-config.yml without its
			// network.connect, which autopilot refuses.
			name: "no port, no http", copilotFile: "backend/simple-template-without-port-config.yml",
			manifest:   "name: simple-backend\ntype: Backend Service\nimage:\n  build: Dockerfile\ncpu: 256\nmemory: 512\ncount: 1\nexec: true\n",
			resources:  []string{"AddonsStack:AWS::CloudFormation::Stack@HasAddons", "DiscoveryService:AWS::ServiceDiscovery::Service", "ExecutionRole:AWS::IAM::Role", "LogGroup:AWS::Logs::LogGroup", "Service:AWS::ECS::Service", "TaskDefinition:AWS::ECS::TaskDefinition", "TaskRole:AWS::IAM::Role"},
			parameters: without(copilotBackendParameters, append(unusedLBWSParameters, "RulePath", "HTTPSEnabled")...),
			params:     map[string]string{"TargetPort": "-1", "TaskCPU": "256", "TaskMemory": "512"},
			facts: map[string]string{
				"Resources.TaskDefinition.Properties.ContainerDefinitions.0.PortMappings": "<missing>",
				"Resources.Service.DependsOn":                "<missing>",
				"Resources.Service.Properties.LoadBalancers": "<missing>",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "my-app", map[string]string{
				"copilot/svc/manifest.yml":                 tc.manifest,
				"copilot/environments/my-env/manifest.yml": "name: my-env\ntype: Environment\n" + tc.envManifest,
			})
			stacks, diags, err := Render(ws, nil, nil, seedOptions)
			if err != nil {
				t.Fatalf("render: %v\n%v", err, diags)
			}
			env, svc := stacks[0], stacks[1]
			root := parseTemplate(t, svc.Template)
			if diff := cmp.Diff(tc.resources, resourceFacts(t, root)); diff != "" {
				t.Errorf("resources differ from Copilot's %s without its custom resources (-copilot +autopilot):\n%s", tc.copilotFile, diff)
			}
			if diff := cmp.Diff(tc.parameters, sectionKeys(root, "Parameters")); diff != "" {
				t.Errorf("parameters (-copilot +autopilot):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"ExposePort", "HasAddons", "HasEnvFile", "IsGovCloud"}, sectionKeys(root, "Conditions")); diff != "" {
				t.Errorf("conditions (-copilot +autopilot):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"DiscoveryServiceARN"}, sectionKeys(root, "Outputs")); diff != "" {
				t.Errorf("outputs (-copilot +autopilot):\n%s", diff)
			}
			for k, v := range tc.params {
				if svc.Parameters[k] != v {
					t.Errorf("parameter %s = %q, want Copilot's %q", k, svc.Parameters[k], v)
				}
			}
			if _, ok := svc.Parameters["DNSDelegated"]; ok {
				t.Errorf("a backend stack passes DNSDelegated, which its template does not declare")
			}
			for path, want := range tc.facts {
				if got := flowString(t, nodeAt(root, strings.Split(path, ".")...)); got != want {
					t.Errorf("%s =\n  %s\nwant\n  %s", path, got, want)
				}
			}
			if got := env.Parameters["InternalALBWorkloads"]; got != tc.internalALB {
				t.Errorf("environment InternalALBWorkloads = %q, want %q", got, tc.internalALB)
			}
			if got := svc.Kind; got != "Backend Service" {
				t.Errorf("kind = %q", got)
			}
			validateTemplate(t, svc.Name, svc.Template)
			validateTemplate(t, env.Name, env.Template)
		})
	}
}

func TestBackendRefusals(t *testing.T) {
	base := "name: api\ntype: Backend Service\nimage: {location: nginx, port: 80}\n"
	tests := []struct {
		name, manifest, envManifest, want string
	}{
		{"http without a path", base + "http: {healthcheck: /ping}\n", "", `"path" must be specified in "http"`},
		{"http without a port", "name: api\ntype: Backend Service\nimage: {location: nginx}\nhttp: {path: /api}\n", "", `"http" needs "image.port"`},
		{"environment with an internal HTTPS listener", base + "http: {path: /api}\n",
			"http:\n  private:\n    certificates: [arn:aws:acm:us-east-1:123456789012:certificate/p]\n", "rendering a Backend Service without http.alias is not supported yet"},
		{"alias without an internal HTTPS listener", base + "http: {path: /api, alias: api.example.com}\n", "", "http.alias of a Backend Service needs an internal HTTPS listener"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := loadWorkspace(t, "demo", map[string]string{
				"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n" + tc.envManifest,
				"copilot/api/manifest.yml":               tc.manifest,
			})
			_, diags, err := Render(ws, nil, nil, seedOptions)
			if err == nil {
				t.Fatalf("render succeeded; want a refusal containing %q", tc.want)
			}
			if !slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return strings.Contains(d.Message, tc.want) && d.File != "" }) {
				t.Errorf("findings %v do not contain %q", diags, tc.want)
			}
		})
	}
}
