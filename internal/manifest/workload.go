package manifest

import (
	"gopkg.in/yaml.v3"
)

// Image is a workload's `image`.
type Image struct {
	Section     `yaml:"-"`
	Location    string               `yaml:"location"`
	Port        *uint16              `yaml:"port"`
	HealthCheck ContainerHealthCheck `yaml:"healthcheck"`
	Credentials *string              `yaml:"credentials"`
	Labels      map[string]string    `yaml:"labels"`
	DependsOn   map[string]string    `yaml:"depends_on"`
	Build       Build                `yaml:"build"`
}

// Build is image.build: a Dockerfile's path, or {context, dockerfile, ...}.
// Paths are as written, relative to the workspace root; a path that is not
// a string is Bad (the schema reports it).
type Build struct {
	Section             `yaml:"-"`
	Dockerfile, Context *string
	Bad                 bool
}

func (b *Build) UnmarshalYAML(n *yaml.Node) error {
	b.Section = newSection(n)
	switch n.Kind {
	case yaml.ScalarNode:
		path := n.Value
		b.Dockerfile = &path
	case yaml.MappingNode:
		for key, dst := range map[string]**string{"dockerfile": &b.Dockerfile, "context": &b.Context} {
			if v := valueOf(n, key); v != nil {
				path := v.Value
				b.Bad = b.Bad || v.Kind != yaml.ScalarNode
				*dst = &path
			}
		}
	default:
		b.Bad = true
	}
	return nil
}

// HasBuild reports that the image is built from a Dockerfile (image.build
// in any form).
func (i Image) HasBuild() bool { return i.Has("build") }

// ContainerHealthCheck is image.healthcheck or sidecars.<name>.healthcheck.
type ContainerHealthCheck struct {
	Section     `yaml:"-"`
	Command     []string `yaml:"command"`
	Interval    *string  `yaml:"interval"`
	Retries     *int     `yaml:"retries"`
	Timeout     *string  `yaml:"timeout"`
	StartPeriod *string  `yaml:"start_period"`
}

// Topic is one of publish.topics.
type Topic struct {
	Name string `yaml:"name"`
	FIFO FIFO   `yaml:"fifo"`
}

// Publish is `publish`.
type Publish struct {
	Section `yaml:"-"`
	Topics  []Topic `yaml:"topics"`
}

// Observability is a workload's `observability`.
type Observability struct {
	Section `yaml:"-"`
	Tracing *string `yaml:"tracing"`
}

// RequestDrivenWebService is an App Runner service's manifest.
type RequestDrivenWebService struct {
	Section   `yaml:"-"`
	Image     Image               `yaml:"image"`
	CPU       *int                `yaml:"cpu"`
	Memory    *int                `yaml:"memory"`
	Command   *string             `yaml:"command"`
	Variables map[string]Variable `yaml:"variables"`
	Secrets   map[string]Secret   `yaml:"secrets"`
	Tags      map[string]string   `yaml:"tags"`
	HTTP      struct {
		Section     `yaml:"-"`
		HealthCheck AppRunnerHealthCheck `yaml:"healthcheck"`
		Alias       *string              `yaml:"alias"`
		Private     PrivateHTTP          `yaml:"private"`
	} `yaml:"http"`
	Publish Publish `yaml:"publish"`
	Network struct {
		VPC struct {
			Placement Placement `yaml:"placement"`
		} `yaml:"vpc"`
	} `yaml:"network"`
	Observability Observability `yaml:"observability"`
	Count         *string       `yaml:"count"`
	// Autopilot is `x-autopilot`, autopilot's own extension, which Copilot
	// ignores.
	Autopilot Autopilot `yaml:"x-autopilot"`
}

// The values of x-autopilot.runtime and x-autopilot.app-runner.
const (
	RuntimeAppRunner  = "app-runner"
	RuntimeECSExpress = "ecs-express"
	AppRunnerKeep     = "keep"
	AppRunnerRemove   = "remove"
)

// Autopilot is a Request-Driven Web Service's `x-autopilot`: where the
// service runs. runtime: ecs-express adds an Amazon ECS Express Mode
// service beside the App Runner one; app-runner: remove, a later step,
// takes the App Runner service away.
type Autopilot struct {
	Section   `yaml:"-"`
	Runtime   *string `yaml:"runtime"`
	AppRunner *string `yaml:"app-runner"`
}

// Express reports that the service runs on ECS Express Mode.
func (a Autopilot) Express() bool { return a.Runtime != nil && *a.Runtime == RuntimeECSExpress }

// RemoveAppRunner reports that the App Runner service is to be removed.
func (a Autopilot) RemoveAppRunner() bool {
	return a.AppRunner != nil && *a.AppRunner == AppRunnerRemove
}

// ECSWorkload is the manifest of a workload on ECS: a Load Balanced Web
// Service, a Backend Service, a Worker Service or a Scheduled Job. The
// fields of one type only (nlb, subscribe, on, ...) are zero in the others.
type ECSWorkload struct {
	Section    `yaml:"-"`
	Image      Image               `yaml:"image"`
	CPU        *int                `yaml:"cpu"`
	Memory     *int                `yaml:"memory"`
	Platform   Platform            `yaml:"platform"`
	Count      Count               `yaml:"count"`
	Exec       Exec                `yaml:"exec"`
	Command    StringOrList        `yaml:"command"`
	EntryPoint StringOrList        `yaml:"entrypoint"`
	Variables  map[string]Variable `yaml:"variables"`
	Secrets    map[string]Secret   `yaml:"secrets"`
	EnvFile    *string             `yaml:"env_file"`
	Tags       map[string]string   `yaml:"tags"`
	Network    struct {
		VPC struct {
			Placement      Placement                                `yaml:"placement"`
			SecurityGroups ListOrMap[[]Variable, SecurityGroupsMap] `yaml:"security_groups"`
		} `yaml:"vpc"`
		Connect BoolOrMap[struct {
			Alias *string `yaml:"alias"`
		}] `yaml:"connect"`
	} `yaml:"network"`
	Deployment struct {
		Section        `yaml:"-"`
		Rolling        *string                                      `yaml:"rolling"`
		RollbackAlarms ListOrMap[[]string, RollbackAlarmThresholds] `yaml:"rollback_alarms"`
	} `yaml:"deployment"`
	Publish          Publish            `yaml:"publish"`
	HTTP             HTTP               `yaml:"http"`
	Sidecars         map[string]Sidecar `yaml:"sidecars"`
	Logging          Logging            `yaml:"logging"`
	Storage          Storage            `yaml:"storage"`
	TaskdefOverrides []TaskdefOverride  `yaml:"taskdef_overrides"`
	Observability    Observability      `yaml:"observability"`

	// Load Balanced Web Service.
	NLB NLB `yaml:"nlb"`
	// Worker Service.
	Subscribe Subscribe `yaml:"subscribe"`
	// Scheduled Job.
	On struct {
		Section  `yaml:"-"`
		Schedule string `yaml:"schedule"`
	} `yaml:"on"`
	Timeout *string `yaml:"timeout"`
	Retries *int    `yaml:"retries"`
}

// Exec is `exec`: ECS Exec for interactive sessions, `exec: true` or
// `exec: {enable: bool}`.
type Exec struct {
	Pos  Pos
	Bool *bool
	// Enable is the map form's enable; IsMap is set for the map form.
	IsMap  bool
	Enable *bool
}

func (e *Exec) UnmarshalYAML(n *yaml.Node) error {
	e.Pos = PosOf(n)
	if n.Kind == yaml.MappingNode {
		var m struct {
			Enable *bool `yaml:"enable"`
		}
		e.IsMap = true
		if err := n.Decode(&m); err != nil {
			return err
		}
		e.Enable = m.Enable
		return nil
	}
	return n.Decode(&e.Bool)
}

// Enabled is whether the service runs with ECS Exec: `true`, or the map
// form with enable set, as Copilot reads it (a map that sets enable turns
// exec on, `enable: false` included).
func (e Exec) Enabled() bool { return e.Bool != nil && *e.Bool || e.Enable != nil }

// Platform is `platform: os/arch` or {osfamily, architecture}.
type Platform struct {
	Pos Pos
	Set bool
	// Value is os/arch as written (osfamily/architecture for the map).
	Value string
}

func (p *Platform) UnmarshalYAML(n *yaml.Node) error {
	p.Pos, p.Set, p.Value = PosOf(n), true, n.Value
	if n.Kind == yaml.MappingNode {
		var m struct {
			OS   string `yaml:"osfamily"`
			Arch string `yaml:"architecture"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		p.Value = m.OS + "/" + m.Arch
	}
	return nil
}

// SecurityGroupsMap is network.vpc.security_groups as a map.
type SecurityGroupsMap struct {
	Groups      []Variable `yaml:"groups"`
	DenyDefault *bool      `yaml:"deny_default"`
}

// RollbackAlarmThresholds is deployment.rollback_alarms as a map.
type RollbackAlarmThresholds struct {
	CPU     *float64 `yaml:"cpu_utilization"`
	Memory  *float64 `yaml:"memory_utilization"`
	Delayed *int     `yaml:"messages_delayed"`
}

// Sidecar is one entry of `sidecars`.
type Sidecar struct {
	Section     `yaml:"-"`
	Port        *string              `yaml:"port"`
	Image       SidecarImage         `yaml:"image"`
	Essential   *bool                `yaml:"essential"`
	CredsParam  *string              `yaml:"credentialsParameter"`
	Variables   map[string]Variable  `yaml:"variables"`
	EnvFile     *string              `yaml:"env_file"`
	Secrets     map[string]Secret    `yaml:"secrets"`
	MountPoints []MountPoint         `yaml:"mount_points"`
	Labels      map[string]string    `yaml:"labels"`
	DependsOn   map[string]string    `yaml:"depends_on"`
	HealthCheck ContainerHealthCheck `yaml:"healthcheck"`
	Command     StringOrList         `yaml:"command"`
	EntryPoint  StringOrList         `yaml:"entrypoint"`
}

// SidecarImage is a sidecar's image: a URI, {location: uri} or {build: ...}.
type SidecarImage struct {
	Set, IsMap bool
	Location   string
	// Build reports image.build (built from a Dockerfile like the main
	// image), BuildPaths its paths.
	Build      bool
	BuildPaths Build
}

func (i *SidecarImage) UnmarshalYAML(n *yaml.Node) error {
	i.Set = true
	switch n.Kind {
	case yaml.ScalarNode:
		i.Location = n.Value
	case yaml.MappingNode:
		i.IsMap = true
		if l := valueOf(n, "location"); l != nil {
			i.Location = l.Value
		}
		if b := valueOf(n, "build"); b != nil {
			i.Build = true
			return i.BuildPaths.UnmarshalYAML(b)
		}
	}
	return nil
}

// MountPoint is one of a sidecar's mount_points.
type MountPoint struct {
	Section      `yaml:"-"`
	SourceVolume *string `yaml:"source_volume"`
	Path         *string `yaml:"path"`
	ReadOnly     *bool   `yaml:"read_only"`
}

// Logging is `logging`: FireLens routing of the main container's logs.
type Logging struct {
	Section        `yaml:"-"`
	Retention      *int                `yaml:"retention"`
	Image          *string             `yaml:"image"`
	Destination    map[string]string   `yaml:"destination"`
	EnableMetadata *bool               `yaml:"enableMetadata"`
	SecretOptions  map[string]Secret   `yaml:"secretOptions"`
	ConfigFile     *string             `yaml:"configFilePath"`
	Variables      map[string]Variable `yaml:"variables"`
	Secrets        map[string]Secret   `yaml:"secrets"`
	EnvFile        *string             `yaml:"env_file"`
}

// Router reports whether the log router runs: Copilot adds it for any
// logging field but retention.
func (l Logging) Router() bool {
	return l.Image != nil || l.Destination != nil || l.EnableMetadata != nil || l.SecretOptions != nil ||
		l.ConfigFile != nil || l.Variables != nil || l.Secrets != nil || l.EnvFile != nil
}

// Storage is `storage`.
type Storage struct {
	Section    `yaml:"-"`
	Ephemeral  *int              `yaml:"ephemeral"`
	ReadonlyFS *bool             `yaml:"readonly_fs"`
	Volumes    map[string]Volume `yaml:"volumes"`
}

// Declares reports that storage.volumes has the volume name (not null).
func (s Storage) Declares(name string) bool {
	v, ok := s.Volumes[name]
	return ok && v.Set
}

// Volume is one of storage.volumes.
type Volume struct {
	Section  `yaml:"-"`
	Path     *string        `yaml:"path"`
	ReadOnly *bool          `yaml:"read_only"`
	EFS      BoolOrMap[EFS] `yaml:"efs"`
}

// EFS is storage.volumes.<name>.efs as a map: an existing file system (id,
// root_dir, auth) or the managed one (uid, gid).
type EFS struct {
	ID      Variable `yaml:"id"`
	RootDir *string  `yaml:"root_dir"`
	Auth    struct {
		IAM           *bool   `yaml:"iam"`
		AccessPointID *string `yaml:"access_point_id"`
	} `yaml:"auth"`
	UID *uint32 `yaml:"uid"`
	GID *uint32 `yaml:"gid"`
}

// TaskdefOverride is one of taskdef_overrides. Value is CloudFormation,
// kept as written (intrinsic-function tags included).
type TaskdefOverride struct {
	Section `yaml:"-"`
	Path    string    `yaml:"path"`
	Value   yaml.Node `yaml:"value"`
}

// NLB is a Load Balanced Web Service's `nlb`.
type NLB struct {
	NLBListener         `yaml:",inline"`
	AdditionalListeners []NLBListener `yaml:"additional_listeners"`
	// Alias is read by lint; render refuses it (it needs the
	// application's domain).
	Alias Alias `yaml:"alias"`
}

// NLBListener is nlb or one of nlb.additional_listeners.
type NLBListener struct {
	Section     `yaml:"-"`
	Port        *string `yaml:"port"`
	HealthCheck struct {
		Section            `yaml:"-"`
		Port               *int    `yaml:"port"`
		HealthyThreshold   *int64  `yaml:"healthy_threshold"`
		UnhealthyThreshold *int64  `yaml:"unhealthy_threshold"`
		Timeout            *string `yaml:"timeout"`
		Interval           *string `yaml:"interval"`
		GracePeriod        *string `yaml:"grace_period"`
	} `yaml:"healthcheck"`
	TargetContainer     *string `yaml:"target_container"`
	TargetPort          *int    `yaml:"target_port"`
	SSLPolicy           *string `yaml:"ssl_policy"`
	Stickiness          *bool   `yaml:"stickiness"`
	DeregistrationDelay *string `yaml:"deregistration_delay"`
}

// Subscribe is a Worker Service's `subscribe`.
type Subscribe struct {
	Section `yaml:"-"`
	Queue   Queue             `yaml:"queue"`
	Topics  []SubscribedTopic `yaml:"topics"`
}

// SubscribedTopic is one of subscribe.topics.
type SubscribedTopic struct {
	Section `yaml:"-"`
	Name    string `yaml:"name"`
	Service string `yaml:"service"`
	// FilterPolicy is an SNS filter policy, kept as written (it becomes JSON).
	FilterPolicy yaml.Node        `yaml:"filter_policy"`
	Queue        BoolOrMap[Queue] `yaml:"queue"`
}

// Queue is subscribe.queue or subscribe.topics[].queue as a map.
type Queue struct {
	Section    `yaml:"-"`
	Retention  *string `yaml:"retention"`
	Delay      *string `yaml:"delay"`
	Timeout    *string `yaml:"timeout"`
	DeadLetter struct {
		Tries *int `yaml:"tries"`
	} `yaml:"dead_letter"`
	FIFO BoolOrMap[QueueFIFO] `yaml:"fifo"`
}

// Empty reports a queue without any setting.
func (q Queue) Empty() bool {
	return q.Retention == nil && q.Delay == nil && q.Timeout == nil && q.DeadLetter.Tries == nil && !q.FIFO.Written()
}

// QueueFIFO is a queue's fifo as a map.
type QueueFIFO struct {
	ContentBased   *bool   `yaml:"content_based_deduplication"`
	DedupScope     *string `yaml:"deduplication_scope"`
	Throughput     *string `yaml:"throughput_limit"`
	HighThroughput *bool   `yaml:"high_throughput"`
}

// StaticSite is a Static Site's manifest, as far as autopilot reads it.
type StaticSite struct {
	Section `yaml:"-"`
	HTTP    struct {
		Section     `yaml:"-"`
		Alias       *string `yaml:"alias"`
		Certificate *string `yaml:"certificate"`
	} `yaml:"http"`
	Files []FileUpload `yaml:"files"`
}

// FileUpload is one entry of a Static Site's files: a file or folder
// (relative to the workspace root) copied to the site's bucket under
// Destination. Recursive is false unless written, as Copilot's code reads
// it (its documentation says directories default to recursive).
type FileUpload struct {
	Section     `yaml:"-"`
	Source      string    `yaml:"source"`
	Destination string    `yaml:"destination"`
	Recursive   bool      `yaml:"recursive"`
	Exclude     OneOrList `yaml:"exclude"`
	Reinclude   OneOrList `yaml:"reinclude"`
}
