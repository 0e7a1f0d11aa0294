package render

import (
	"strings"
	"testing"
)

// Copilot's Service Connect facts (v1.33.2): backend/simple-manifest.yml
// (server on the main port), simple-manifest-without-port-config.yml and
// worker-manifest.yml (clients only), svc-manifest.yml in prod (an alias,
// served by the nginx sidecar the load balancer targets).
func TestServiceConnectMatchesCopilotTestdata(t *testing.T) {
	client := "Enabled: true, Namespace: %s, LogConfiguration: {LogDriver: awslogs, Options: {awslogs-region: !Ref 'AWS::Region', awslogs-group: !Ref LogGroup, awslogs-stream-prefix: copilot}}"
	server := ", Services: [{PortName: target, DiscoveryName: !Join ['-', [!Ref WorkloadName, sc]], ClientAliases: [{Port: !Ref TargetPort, DnsName: %s}]}]"
	tests := []struct {
		name, app, workload, manifest, want string
		facts                               map[string]string
	}{
		{"backend serves its port", "my-app", "simple-backend",
			"name: simple-backend\ntype: Backend Service\nimage: {build: Dockerfile, port: 8080}\nnetwork: {connect: true}\ncpu: 256\nmemory: 512\ncount: 1\nexec: true\n",
			"{" + strings.Replace(client, "%s", "test.my-app.local", 1) + strings.Replace(server, "%s", "!Ref WorkloadName", 1) + "}",
			map[string]string{"Resources.TaskDefinition.Properties.ContainerDefinitions.0.PortMappings": "[{ContainerPort: 8080, Protocol: tcp, Name: target}]"}},
		{"backend without a port is a client", "my-app", "simple-backend",
			"name: simple-backend\ntype: Backend Service\nimage: {build: Dockerfile}\nnetwork: {connect: true}\n",
			"{" + strings.Replace(client, "%s", "test.my-app.local", 1) + "}", nil},
		{"worker is a client", "my-app", "dogworker",
			"name: dogworker\ntype: Worker Service\nimage: {location: amazon/ecs-example}\nnetwork: {connect: true}\n",
			"{" + strings.Replace(client, "%s", "test.my-app.local", 1) + "}", nil},
		{"alias served by the target sidecar", "my-app", "fe",
			"name: fe\ntype: Load Balanced Web Service\nimage: {build: Dockerfile, port: 4000}\nhttp: {path: /, target_container: nginx}\nnetwork:\n  connect:\n    alias: api\n" +
				"sidecars:\n  nginx: {port: 8080, image: reverse-proxy:revision_1}\n",
			"{" + strings.Replace(client, "%s", "test.my-app.local", 1) + strings.Replace(server, "%s", "api", 1) + "}",
			map[string]string{"Resources.TaskDefinition.Properties.ContainerDefinitions.1.PortMappings": "[{ContainerPort: 8080, Protocol: tcp, Name: target}]"}},
		{"connect false keeps Copilot's disabled form", "my-app", "simple-backend",
			"name: simple-backend\ntype: Backend Service\nimage: {build: Dockerfile, port: 8080}\nnetwork: {connect: false}\n",
			"!If [IsGovCloud, !Ref 'AWS::NoValue', {Enabled: false}]", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, root := renderOne(t, tc.app, tc.workload, tc.manifest)
			facts := map[string]string{"Resources.Service.Properties.ServiceConnectConfiguration": tc.want}
			for k, v := range tc.facts {
				facts[k] = v
			}
			checkFacts(t, root, facts)
		})
	}
}
