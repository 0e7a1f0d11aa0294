package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Copilot's job-manifest.yml (v1.33.2) storage, restated: a managed EFS
// volume mounted read-write by the job and read-only by its sidecar. The
// facts are job-test.stack.yml's and, for the environment, the CreateEFS
// resources of template-with-basic-manifest.yml.
const copilotManagedEFSManifest = `name: job
type: Scheduled Job
image:
  location: alpine
on:
  schedule: "0 12 * * MON"
storage:
  ephemeral: 200
  volumes:
    managedEFSVolume:
      path: '/etc/mount1'
      read_only: false
      efs: true
sidecars:
  nginx:
    essential: true
    image: public.ecr.aws/nginx/nginx
    port: 8080
    mount_points:
      - source_volume: managedEFSVolume
        path: '/var/www'
`

func TestManagedEFSMatchesCopilotTestdata(t *testing.T) {
	ws := loadWorkspace(t, "my-app", map[string]string{
		"copilot/job/manifest.yml":               copilotManagedEFSManifest,
		"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n",
	})
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	env, job := stacks[0], stacks[1]
	validateTemplate(t, env.Name, env.Template)
	validateTemplate(t, job.Name, job.Template)

	envRoot := parseTemplate(t, env.Template)
	var copilotEFS, gotEFS []string
	for _, r := range copilotEnvBasicResources {
		if strings.HasSuffix(r, "@CreateEFS") {
			copilotEFS = append(copilotEFS, r)
		}
	}
	for _, r := range resourceFacts(t, envRoot) {
		if strings.HasSuffix(r, "@CreateEFS") {
			gotEFS = append(gotEFS, r)
		}
	}
	if diff := cmp.Diff(copilotEFS, gotEFS); diff != "" {
		t.Errorf("environment EFS resources (-copilot +autopilot):\n%s", diff)
	}
	if got := env.Parameters["EFSWorkloads"]; got != "job" {
		t.Errorf("EFSWorkloads = %q, want job (the env controller's list)", got)
	}
	if slices.Contains(env.KeepPrevious, "EFSWorkloads") || env.Unrendered["EFSWorkloads"] != "" || !slices.Contains(env.MergeLists, "EFSWorkloads") {
		t.Errorf("EFSWorkloads must be computed and unioned with the live list (KeepPrevious %v, Unrendered %v, MergeLists %v)", env.KeepPrevious, env.Unrendered, env.MergeLists)
	}
	checkFacts(t, envRoot, map[string]string{
		"Outputs.ManagedFileSystemID":                                                       "{Condition: CreateEFS, Value: !Ref FileSystem, Description: The ID of the Copilot-managed EFS filesystem., Export: {Name: !Sub '${AWS::StackName}-FilesystemID'}}",
		"Resources.MountTarget1.Properties.SubnetId":                                        "!Ref PrivateSubnet1",
		"Resources.EFSSecurityGroupIngressFromEnvironment.Properties.SourceSecurityGroupId": "!Ref EnvironmentSecurityGroup",
	})

	root := parseTemplate(t, job.Template)
	if !slices.Contains(resourceFacts(t, root), "AccessPoint:AWS::EFS::AccessPoint") {
		t.Errorf("job resources %v lack Copilot's AccessPoint", resourceFacts(t, root))
	}
	checkFacts(t, root, map[string]string{
		// The env controller's ManagedFileSystemID, read from the environment's export.
		"Resources.AccessPoint.Properties.FileSystemId":  "{'Fn::ImportValue': !Sub '${AppName}-${EnvName}-FilesystemID'}",
		"Resources.AccessPoint.Properties.ClientToken":   "!Sub ${AppName}-${EnvName}-${WorkloadName}",
		"Resources.AccessPoint.Properties.PosixUser":     "{Uid: 4225294584, Gid: 4225294584}",
		"Resources.AccessPoint.Properties.RootDirectory": "{Path: !Sub /job, CreationInfo: {OwnerUid: 4225294584, OwnerGid: 4225294584, Permissions: \"0755\"}}",
		"Resources.TaskDefinition.Properties.Volumes": "[{Name: managedEFSVolume, EFSVolumeConfiguration: {FilesystemId: {'Fn::ImportValue': !Sub '${AppName}-${EnvName}-FilesystemID'}, " +
			"RootDirectory: /, TransitEncryption: ENABLED, AuthorizationConfig: {AccessPointId: !Ref AccessPoint, IAM: ENABLED}}}]",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.0.MountPoints":        "[{ContainerPath: /etc/mount1, ReadOnly: false, SourceVolume: managedEFSVolume}]",
		"Resources.TaskDefinition.Properties.ContainerDefinitions.1.MountPoints":        "[{SourceVolume: managedEFSVolume, ReadOnly: true, ContainerPath: /var/www}]",
		"Resources.TaskRole.Properties.Policies.1.PolicyName":                           "GrantAccessCopilotManagedEFS",
		"Resources.TaskRole.Properties.Policies.1.PolicyDocument.Statement.0.Condition": "{StringEquals: {'elasticfilesystem:AccessPointArn': !GetAtt AccessPoint.Arn}}",
	})
}

// An environment whose workspace has no managed volume keeps Copilot's
// template shape without the file system, and deploy keeps refusing a live
// EFSWorkloads it would otherwise delete.
func TestEnvironmentWithoutManagedEFS(t *testing.T) {
	ws := loadWorkspace(t, "demo", map[string]string{"copilot/environments/test/manifest.yml": "name: test\ntype: Environment\n"})
	stacks, diags, err := Render(ws, nil, nil, seedOptions)
	if err != nil {
		t.Fatalf("render: %v\n%v", err, diags)
	}
	env := stacks[0]
	if slices.ContainsFunc(resourceFacts(t, parseTemplate(t, env.Template)), func(r string) bool { return strings.HasSuffix(r, "@CreateEFS") }) {
		t.Error("EFS resources rendered without a workload that needs them")
	}
	if env.Unrendered["EFSWorkloads"] == "" || !slices.Contains(env.KeepPrevious, "EFSWorkloads") {
		t.Errorf("EFSWorkloads must stay kept and refused when live (KeepPrevious %v, Unrendered %v)", env.KeepPrevious, env.Unrendered)
	}
}
