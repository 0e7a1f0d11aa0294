package render

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// `storage` of an ECS workload, as Copilot's volumes, mount-points,
// efs-access-point and taskrole partials write it: ephemeral storage, a
// read-only root file system, task-scoped volumes, bring-your-own EFS file
// systems and one Copilot-managed EFS volume. The managed volume lives on
// the environment's file system (rendered under CreateEFS, the workload
// listed in EFSWorkloads); Copilot read its id from the env controller,
// autopilot imports the environment's <app>-<env>-FilesystemID export,
// the same value.

// storageSpec is `storage`.
type storageSpec struct {
	manifest.Storage
	Volumes map[string]volumeSpec // shadows Storage.Volumes

	managed *managedVolume
}

// managedVolume is the volume on the environment's file system: an access
// point rooted at /<workload> owned by uid:gid.
type managedVolume struct {
	name     string
	dir      string
	uid, gid uint32
}

// volumeSpec is one of storage.volumes.
type volumeSpec struct {
	manifest.Volume
	efs *manifest.EFS // a bring-your-own file system, or nil for a task volume
}

func (s storageSpec) hasVolume(name string) bool {
	_, ok := s.Volumes[name]
	return ok
}

// parseStorage decodes `storage` into m.task.storage.
func parseStorage(in ecsInput, m *ecsManifest, fail failFunc) {
	if !m.Storage.Set {
		return
	}
	s := storageSpec{Storage: m.Storage, Volumes: map[string]volumeSpec{}}
	if e := s.Ephemeral; e != nil && (*e < 20 || *e > 200) {
		fail(s.At("ephemeral"), ruleManifest, fmt.Sprintf("storage.ephemeral %d must be between 20 and 200 GiB", *e), "")
	}
	for _, name := range sortedKeys(m.Storage.Volumes) {
		v := volumeSpec{Volume: m.Storage.Volumes[name]}
		at := v.Pos
		if v.Path == nil || *v.Path == "" {
			fail(at, ruleManifest, fmt.Sprintf("storage.volumes.%s needs a path to mount it at", name), "set storage.volumes."+name+".path")
		}
		switch {
		case !v.EFS.Written():
		case v.EFS.IsBool:
			if v.EFS.Bad {
				fail(at, ruleManifest, fmt.Sprintf("storage.volumes.%s.efs must be true, false or a map", name), "")
			} else if v.EFS.Bool {
				s.managed = addManaged(s.managed, name, in.name, nil, nil, at, fail)
			}
		case v.EFS.IsMap:
			e := v.EFS.Map
			if err := v.EFS.Err; err != nil {
				fail(at, ruleManifest, fmt.Sprintf("decode storage.volumes.%s.efs: %v", name, err), "")
				break
			}
			byo := e.ID.Value != "" || e.ID.FromCFN != nil || e.RootDir != nil || e.Auth.IAM != nil || e.Auth.AccessPointID != nil
			managed := e.UID != nil || e.GID != nil
			switch {
			case byo && managed:
				fail(at, ruleManifest, fmt.Sprintf("storage.volumes.%s.efs: uid/gid and id/root_dir/auth are mutually exclusive", name), "")
			case managed:
				s.managed = addManaged(s.managed, name, in.name, e.UID, e.GID, at, fail)
			case e.ID.Value == "" && e.ID.FromCFN == nil:
				fail(at, ruleManifest, fmt.Sprintf("storage.volumes.%s.efs needs the id of the file system", name), "set efs.id to fs-… or {from_cfn: export}")
			case e.Auth.AccessPointID != nil && e.RootDir != nil && *e.RootDir != "/" && *e.RootDir != "":
				fail(at, ruleManifest, fmt.Sprintf("storage.volumes.%s.efs: root_dir must be empty or / with an access point", name), "")
			case e.Auth.AccessPointID != nil && e.Auth.IAM != nil && !*e.Auth.IAM:
				fail(at, ruleManifest, fmt.Sprintf("storage.volumes.%s.efs: an access point needs auth.iam: true", name), "")
			default:
				v.efs = &e
			}
		default:
			fail(at, ruleManifest, fmt.Sprintf("storage.volumes.%s.efs must be true, false or a map", name), "")
		}
		s.Volumes[name] = v
	}
	m.task.storage = s
}

// addManaged records the managed EFS volume; a workload has at most one.
// Without uid and gid Copilot uses the CRC-32 of the workload name for both.
func addManaged(prev *managedVolume, volume, workload string, uid, gid *uint32, at manifest.Pos, fail failFunc) *managedVolume {
	if prev != nil {
		fail(at, ruleManifest, fmt.Sprintf("storage.volumes.%s: a workload can have only one managed EFS volume, and %s is one already", volume, prev.name), "")
		return prev
	}
	if (uid == nil) != (gid == nil) {
		fail(at, ruleManifest, fmt.Sprintf("storage.volumes.%s.efs: set both uid and gid, or neither", volume), "")
		return nil
	}
	v := &managedVolume{name: volume, dir: workload}
	if uid == nil {
		sum := crc32.ChecksumIEEE([]byte(workload))
		v.uid, v.gid = sum, sum
	} else {
		v.uid, v.gid = *uid, *gid
	}
	return v
}

// managedFileSystemID is the environment's file system, exported by its stack.
func managedFileSystemID() *yaml.Node {
	return importValue(sub("${AppName}-${EnvName}-FilesystemID"))
}

// addAccessPoint adds the managed volume's access point, if any.
func addAccessPoint(add func(string, *yaml.Node), s storageSpec) {
	if s.managed != nil {
		add("AccessPoint", accessPoint(s.managed))
	}
}

// accessPoint is the managed volume's EFS access point.
func accessPoint(v *managedVolume) *yaml.Node {
	id := func(n uint32) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(uint64(n), 10)}
	}
	return kv(
		"Metadata", kv("aws:copilot:description", "An EFS access point to handle POSIX permissions"),
		"Type", "AWS::EFS::AccessPoint",
		"Properties", kv(
			"ClientToken", sub("${AppName}-${EnvName}-${WorkloadName}"),
			"FileSystemId", managedFileSystemID(),
			"PosixUser", kv("Uid", id(v.uid), "Gid", id(v.gid)),
			"RootDirectory", kv(
				"Path", sub("/"+v.dir),
				"CreationInfo", kv("OwnerUid", id(v.uid), "OwnerGid", id(v.gid), "Permissions", "0755"),
			),
		),
	)
}

// ephemeralStorage is the task's EphemeralStorage; Copilot leaves out the
// default 20 GiB.
func ephemeralStorage(s storageSpec) *yaml.Node {
	if s.Ephemeral == nil || *s.Ephemeral == 20 {
		return nil
	}
	return kv("SizeInGiB", *s.Ephemeral)
}

// mountPoints is the main container's MountPoints: every volume, sorted.
func mountPoints(s storageSpec) *yaml.Node {
	if len(s.Volumes) == 0 {
		return nil
	}
	list := seq()
	for _, name := range sortedKeys(s.Volumes) {
		v := s.Volumes[name]
		list.Content = append(list.Content, kv("ContainerPath", deref(v.Path), "ReadOnly", v.ReadOnly == nil || *v.ReadOnly, "SourceVolume", name))
	}
	return list
}

// mountPointsEnv is COPILOT_MOUNT_POINTS: {"volume": "path"} as JSON.
func mountPointsEnv(paths map[string]string) *yaml.Node {
	if len(paths) == 0 {
		return nil
	}
	b, _ := json.Marshal(paths) // a map of strings always marshals
	return kv("Name", "COPILOT_MOUNT_POINTS", "Value", string(b))
}

func mainMountPointsEnv(s storageSpec) *yaml.Node {
	paths := map[string]string{}
	for name, v := range s.Volumes {
		if p := deref(v.Path); p != "" {
			paths[name] = p
		}
	}
	return mountPointsEnv(paths)
}

func sidecarMountPointsEnv(mps []manifest.MountPoint) *yaml.Node {
	paths := map[string]string{}
	for _, mp := range mps {
		if mp.SourceVolume != nil && deref(mp.Path) != "" {
			paths[*mp.SourceVolume] = *mp.Path
		}
	}
	return mountPointsEnv(paths)
}

// taskVolumes is the task definition's Volumes.
func taskVolumes(s storageSpec) *yaml.Node {
	if len(s.Volumes) == 0 {
		return nil
	}
	list := seq()
	if mv := s.managed; mv != nil {
		list.Content = append(list.Content, kv("Name", mv.name, "EFSVolumeConfiguration", kv(
			"FilesystemId", managedFileSystemID(),
			"RootDirectory", "/",
			"TransitEncryption", "ENABLED",
			"AuthorizationConfig", kv("AccessPointId", ref("AccessPoint"), "IAM", "ENABLED"),
		)))
	}
	for _, name := range sortedKeys(s.Volumes) {
		v := s.Volumes[name]
		if s.managed != nil && name == s.managed.name {
			continue
		}
		vol := kv("Name", name)
		if e := v.efs; e != nil {
			root := "/"
			if e.RootDir != nil && *e.RootDir != "" {
				root = *e.RootDir
			}
			iam := "DISABLED"
			if e.Auth.IAM != nil && *e.Auth.IAM {
				iam = "ENABLED"
			}
			auth := kv()
			if e.Auth.AccessPointID != nil {
				set(auth, "AccessPointId", *e.Auth.AccessPointID)
			}
			set(auth, "IAM", iam)
			set(vol, "EFSVolumeConfiguration", kv(
				"FilesystemId", fileSystemID(e),
				"RootDirectory", root,
				"TransitEncryption", "ENABLED",
				"AuthorizationConfig", auth,
			))
		}
		list.Content = append(list.Content, vol)
	}
	return list
}

func fileSystemID(e *manifest.EFS) *yaml.Node {
	if e.ID.FromCFN != nil {
		return importValue(str(*e.ID.FromCFN))
	}
	return str(e.ID.Value)
}

// efsPolicies are the task role's GrantEFSAccess policies, one per
// bring-your-own file system volume, numbered in volume-name order.
func efsPolicies(s storageSpec) []*yaml.Node {
	var out []*yaml.Node
	i := 0
	for _, name := range sortedKeys(s.Volumes) {
		v := s.Volumes[name]
		e := v.efs
		if e == nil {
			continue
		}
		var policyName, resource *yaml.Node
		if e.ID.FromCFN != nil {
			imported := importValue(str(*e.ID.FromCFN))
			policyName = join("", fn("", "GrantEFSAccess", imported, "-"+strconv.Itoa(i)))
			resource = join("/", fn("", sub("arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:file-system"), deepCopy(imported)))
		} else {
			policyName = str("GrantEFSAccess" + e.ID.Value + "-" + strconv.Itoa(i))
			resource = sub("arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:file-system/" + e.ID.Value)
		}
		actions := seq("elasticfilesystem:ClientMount")
		if v.ReadOnly != nil && !*v.ReadOnly {
			actions.Content = append(actions.Content, str("elasticfilesystem:ClientWrite"))
		}
		stmt := kv("Effect", "Allow", "Action", actions)
		if e.Auth.AccessPointID != nil {
			set(stmt, "Condition", kv("StringEquals", kv("elasticfilesystem:AccessPointArn",
				sub("arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:access-point/"+*e.Auth.AccessPointID))))
		}
		set(stmt, "Resource", seq(resource))
		out = append(out, kv("PolicyName", policyName, "PolicyDocument", policyDoc(stmt)))
		i++
	}
	if s.managed != nil {
		out = append(out, kv("PolicyName", "GrantAccessCopilotManagedEFS", "PolicyDocument", policyDoc(kv(
			"Effect", "Allow",
			"Action", seq("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"),
			"Condition", kv("StringEquals", kv("elasticfilesystem:AccessPointArn", getAtt("AccessPoint.Arn"))),
			"Resource", seq(join("/", fn("", sub("arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:file-system"), managedFileSystemID()))),
		))))
	}
	return out
}
