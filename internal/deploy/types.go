package deploy

// Stack is one CloudFormation stack to plan or deploy: a rendered template
// with its parameters and tags. deploy never renders; it takes these as given.
type Stack struct {
	Name       string            // CloudFormation stack name, e.g. "app-test-api"
	Template   []byte            // template body (YAML or JSON)
	Parameters map[string]string // parameter values; keys the template declares
	Tags       map[string]string // stack tags
	// Assets are files the template refers to through a parameter holding an
	// S3 URL (the addons nested stack's AddonsTemplateURL): deploy uploads
	// each to the artifacts bucket and sets that parameter to its URL.
	Assets map[string][]byte
	// Site, for a Static Site, is the content its bucket must hold.
	Site *Site
	// Objects are files the parameters already name by their key in the
	// artifacts bucket (env files, addons' local artifacts; each key holds
	// a hash of the content). Plan
	// never uploads them: a change set needs the key only, and a pull
	// request's plan writes nothing. Deploy puts the missing ones before it
	// executes anything. Their content may be secret and is never printed.
	Objects map[string][]byte
	// DependsOn names stacks that must be deployed first (a workload's
	// environment stack).
	DependsOn []string
	// Labels say what the stack is, for reports: "environment" or the
	// workload type, the environment and workload names.
	Kind, Env, Workload string
	// Images are the container images the stack's parameters point at.
	Images []Image
	// KeepPrevious names parameters whose deployed value wins over the one
	// given, when the stack exists (Copilot keeps the environment's
	// workload lists this way). A declared parameter with no value given
	// keeps its deployed value too.
	KeepPrevious []string
	// Unrendered maps parameters to the features they switch on that the
	// template does not hold: planning refuses a deployed stack that has a
	// value for one, since deploying would remove those resources.
	Unrendered map[string]string
	// MergeLists names comma-separated lists (the environment's workload
	// lists) that an update unions with the deployed value instead of
	// replacing it.
	MergeLists []string
	// Fixed maps parameters that must keep their deployed value (when it
	// is not empty) to what to do otherwise: planning refuses a stack whose
	// rendered value differs (the application's domain names the hosted
	// zone; another value would replace it).
	Fixed map[string]string
	// CarryLive names resources an update keeps as deployed: each one the
	// deployed stack has (its condition true) is copied into the template,
	// replacing a rendered resource of the same ID and another type, with
	// the parameters and conditions it refers to. Copilot's Lambda-backed
	// custom resources stay this way, so their delete handlers never run.
	// One that refers to a resource the new template lacks is left to go.
	CarryLive []string
	// Live names resources the deployed stack must have, as CarryLive
	// keeps them (Copilot's Lambda-backed custom resources autopilot
	// cannot create, such as an App Runner service's custom domain).
	// Planning refuses a stack that does not have them, or whose copies
	// hold other values than the ones wanted.
	Live []LiveResource
}

// LiveResource is a resource of the deployed stack the new template keeps.
type LiveResource struct {
	ID string
	// Properties are top-level property values the deployed resource must
	// have (the manifest's), so what is kept is what the manifest asks.
	Properties map[string]string
	// For says what the resource does, for messages.
	For string
}

// Image is a pushed (or placeholder) container image a stack uses.
type Image struct {
	Workload   string `json:"workload"`
	Sidecar    string `json:"sidecar,omitempty"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
}

// Action is what CloudFormation will do to one resource.
type Action string

const (
	ActionAdd     Action = "Add"
	ActionModify  Action = "Modify"
	ActionRemove  Action = "Remove"
	ActionImport  Action = "Import"
	ActionDynamic Action = "Dynamic"
)

// Replacement says whether a Modify replaces the resource ("True",
// "Conditional", "False" or empty when not applicable).
type Replacement string

const (
	ReplacementTrue        Replacement = "True"
	ReplacementConditional Replacement = "Conditional"
	ReplacementFalse       Replacement = "False"
)

// Plan is the result of planning a set of stacks, in dependency order.
type Plan struct {
	App     string `json:"application"`
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	Offline bool   `json:"offline"`
	// Fingerprint hashes every stack's record; with one environment it
	// equals that environment's.
	Fingerprint string      `json:"fingerprint"`
	Stacks      []StackPlan `json:"stacks"`
	// Records are what a reviewer approves, one per environment.
	Records []Record `json:"records,omitempty"`
}

// StackPlan is the change set for one stack.
type StackPlan struct {
	StackName     string           `json:"stack"`
	Kind          string           `json:"kind,omitempty"`
	Env           string           `json:"environment,omitempty"`
	Workload      string           `json:"workload,omitempty"`
	ChangeSetName string           `json:"changeSetName,omitempty"`
	ChangeSetID   string           `json:"changeSetId,omitempty"`
	ChangeSetType string           `json:"changeSetType,omitempty"` // CREATE or UPDATE
	Status        string           `json:"status,omitempty"`        // CREATE_COMPLETE, FAILED, ...
	StatusReason  string           `json:"statusReason,omitempty"`
	NoChanges     bool             `json:"noChanges"`
	Changes       []ResourceChange `json:"changes"`
	Images        []Image          `json:"images,omitempty"`
	// Files, for a Static Site, are the changes to its bucket.
	Files *FileChanges `json:"files,omitempty"`
	// Preview marks changes read from the templates rather than from a
	// change set: CloudFormation can plan the stack only once a stack it
	// depends on deployed (StatusReason says which). Deploy plans it again
	// then, and checks that change set before executing it.
	Preview bool `json:"preview,omitempty"`
	// Error is set when the stack could not be planned; other stacks still are.
	Error string `json:"error,omitempty"`
}

// ResourceChange is one row of a change set.
type ResourceChange struct {
	Action       Action           `json:"action"`
	LogicalID    string           `json:"logicalId"`
	PhysicalID   string           `json:"physicalId,omitempty"`
	ResourceType string           `json:"resourceType"`
	Replacement  Replacement      `json:"replacement,omitempty"`
	Details      []PropertyChange `json:"details,omitempty"`
	// Destructive marks a Remove or a replacement of a stateful resource
	// (databases, tables, buckets, file systems, log groups, secrets).
	Destructive bool `json:"destructive"`
	// NestedStack names the nested stack (logical ID path) the change is in,
	// empty for the root stack.
	NestedStack string `json:"nestedStack,omitempty"`
}

// PropertyChange is one changed property, with values already masked where
// they come from NoEcho parameters or dynamic references.
type PropertyChange struct {
	Path               string `json:"path"` // e.g. "Properties.Engine"
	Before             string `json:"before,omitempty"`
	After              string `json:"after,omitempty"`
	RequiresRecreation string `json:"requiresRecreation,omitempty"` // Never, Conditionally, Always
	ChangeSource       string `json:"changeSource,omitempty"`
}

// Counts summarises a set of changes for a headline.
type Counts struct {
	Add, Modify, Remove, Replace, Destructive int
}

// Count tallies the changes of one stack plan.
func (s StackPlan) Count() Counts {
	var c Counts
	for _, rc := range s.Changes {
		switch rc.Action {
		case ActionAdd, ActionImport:
			c.Add++
		case ActionRemove:
			c.Remove++
		default:
			c.Modify++
		}
		if rc.Replacement == ReplacementTrue || rc.Replacement == ReplacementConditional {
			c.Replace++
		}
		if rc.Destructive {
			c.Destructive++
		}
	}
	return c
}

// HasChanges reports whether any stack in the plan changes.
func (p *Plan) HasChanges() bool {
	for _, s := range p.Stacks {
		if !s.NoChanges && len(s.Changes) > 0 || s.Files.Changed() {
			return true
		}
	}
	return false
}

// Destructive returns every destructive change across the plan.
func (p *Plan) Destructive() []ResourceChange {
	var out []ResourceChange
	for _, s := range p.Stacks {
		for _, rc := range s.Changes {
			if rc.Destructive {
				out = append(out, rc)
			}
		}
	}
	return out
}
