package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/diag"
	"github.com/autopilot-dev/autopilot/internal/manifest"
	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// Options are the inputs to a render that do not come from the workspace.
type Options struct {
	// App names the application; empty means the workspace's.
	App string
	// Images maps a workload name to its built image URI (by digest).
	// A workload with image.build and no entry gets ImagePlaceholder.
	Images map[string]string
	// PinImage, when set, turns an image.location that names a tag into
	// repository@sha256:… (plan and deploy set it, so a tag moved after
	// review changes the plan's fingerprint instead of what runs). A
	// failure is an error finding on image.location.
	PinImage func(location string) (string, error)
	// Vars resolves ${VAR} in manifests; App and Env are filled per stack.
	// Deploying commands set Strict.
	Vars workspace.Vars
	// Tags are the application's extra tags, added to every stack.
	Tags map[string]string
	// AccountID and Region, when known, make rendered values concrete where
	// Copilot writes them concretely (COPILOT_SNS_TOPIC_ARNS, the tools
	// account principal). Without them those values use Fn::Sub or are left
	// to the stack's previous parameter value.
	AccountID, Region string
	// ArtifactBucketARN and ArtifactKeyARN are the application's artifact
	// bucket and its KMS key (from the app stack), used by the environment
	// manager role and by workloads with secrets.
	ArtifactBucketARN, ArtifactKeyARN string
	// Context, when set, stops a render between stacks once it is done
	// (SIGINT, SIGTERM); Render then returns its error.
	Context context.Context
	// AppDomain is the application's domain (Copilot's `app init
	// --domain`). Copilot keeps it in the application's SSM parameter, not
	// in the workspace, so it is an input: with it, environment stacks get
	// AppDNSName, the environment's hosted zone, its delegation from the
	// application's zone and the environment's certificate.
	AppDomain string
	// CloudFrontPrefixList is the id of the region's CloudFront
	// origin-facing managed prefix list (an EC2 lookup Copilot makes), which
	// http.public.ingress.cdn restricts the public load balancer to.
	CloudFrontPrefixList string
	// Lookups, when set (plan, deploy), finds what Copilot looks up in AWS
	// while deploying: subnets by tags, and CloudFront's prefix list when
	// CloudFrontPrefixList is empty.
	Lookups Lookups

	// checkOnly skips encoding templates: Check needs the findings only.
	checkOnly bool
	// workspaceRoot is the folder holding copilot/, where env files and
	// addons' local artifacts are read from.
	workspaceRoot string
	// decoded are workloads the caller resolved and decoded (CheckDecoded).
	decoded map[string]*manifest.Workload
}

// checkDone reports that a Check has all a workload's findings once its
// manifest is validated: only taskdef_overrides (applied to the rendered
// task definition) need the template.
func (o Options) checkDone(overrides []overrideRule) bool {
	return o.checkOnly && len(overrides) == 0
}

// encode encodes a template, or nothing in a Check.
func (o Options) encode(doc *yaml.Node) ([]byte, error) {
	if o.checkOnly {
		return nil, nil
	}
	return encode(doc)
}

// Stack is one rendered CloudFormation stack.
type Stack struct {
	Name string
	// Kind is "Environment" or the workload type.
	Kind, Env, Workload string
	Template            []byte
	// Parameters are the values Copilot would pass. A template parameter
	// missing here (ArtifactKeyARN, ToolsAccountPrincipalARN when unknown)
	// means: keep the stack's previous value.
	Parameters map[string]string
	Tags       map[string]string
	// AddonsTemplate is the merged addons template, or nil. deploy uploads
	// it and sets the AddonsTemplateURL parameter, which Parameters then
	// leaves out (it is "" for a workload without addons).
	AddonsTemplate []byte
	// SiteFiles are a Static Site's files: deploy puts those that changed in
	// the site's bucket and deletes the keys no file has any more.
	SiteFiles []SiteFile
	// Objects are files by their key in the artifacts bucket, which the
	// template already names: env files (the env-file parameters) and
	// addons' packaged local artifacts. Keys hold a content hash; deploy
	// uploads the missing ones before executing, plan uploads none. Env
	// files may be secret: never print an object's content.
	Objects map[string][]byte
	// DependsOn names stacks to deploy first (a workload's environment).
	DependsOn []string
	// KeepPrevious names parameters whose live value wins when the stack
	// already exists, as Copilot keeps them (see KeepPreviousEnvParams).
	KeepPrevious []string
	// Unrendered maps parameters that switch on parts of Copilot's template
	// autopilot does not render yet to what they stand for: an existing
	// stack with a value for one must not be deployed over (it would lose
	// those resources).
	Unrendered map[string]string
	// MergeLists name comma-separated workload lists that deploy unions
	// with the deployed value, so workloads this workspace does not know
	// (another repository's, on the same environment) keep what they need.
	MergeLists []string
	// Fixed maps parameters whose deployed value must not change to what
	// to do instead (see deploy.Stack.Fixed).
	Fixed map[string]string
	// CarryLive names resources of Copilot's template autopilot renders
	// natively or not at all (Lambda-backed custom resources, their
	// functions and roles): deploy keeps each one the deployed stack has,
	// as deployed (see deploy.Stack.CarryLive).
	CarryLive []string
	// Live names resources of Copilot's template render leaves out because
	// autopilot cannot create them (a Lambda-backed custom resource whose
	// code is Copilot's): deploy keeps them as deployed (as CarryLive), and
	// refuses a stack without them.
	Live []LiveResource
}

// LiveResource is a resource deploy keeps from the deployed stack:
// Properties are top-level values it must hold, For what it does.
type LiveResource struct {
	ID         string
	Properties map[string]string
	For        string
}

// maxInlineTemplate is CloudFormation's limit for a TemplateBody.
const maxInlineTemplate = 51200

// Render renders the environment stacks, then the workload stacks, of the
// named environments and workloads (empty means all). A non-nil error is a
// *diag.Failure carrying the findings that stopped the render.
func Render(ws *workspace.Workspace, envs, workloads []string, opts Options) ([]Stack, diag.List, error) {
	if ws == nil {
		return nil, nil, errors.New("render: no workspace loaded")
	}
	var diags diag.List
	for _, d := range ws.Diagnostics {
		if d.Severity == diag.Error {
			diags = append(diags, d)
		}
	}
	opts.workspaceRoot = ws.Root
	app := opts.App
	if app == "" {
		app = ws.App
	}
	if app == "" {
		diags = append(diags, diag.Diagnostic{Severity: diag.Error, Rule: ruleManifest,
			Message: "no application name: the manifests are not in a workspace with copilot/.workspace", Fix: "pass --app NAME"})
	}
	if len(envs) == 0 {
		for _, e := range ws.Environments {
			envs = append(envs, e.Name)
		}
	}
	if len(envs) == 0 {
		// Manifests given without their environments: render the workload
		// stacks for the environments their overrides name.
		envs = ws.EnvNames()
	}
	if len(envs) == 0 {
		d := diag.Diagnostic{Severity: diag.Error, Rule: ruleManifest,
			Message: "no environments to render: there is no copilot/environments/<name>/manifest.yml and no environments: override",
			Fix:     "pass --env NAME"}
		if len(ws.Workloads) > 0 {
			d.File = ws.Workloads[0].Path
		}
		diags = append(diags, d)
	}
	envs = slices.Compact(slices.Sorted(slices.Values(envs)))
	selected := map[string]bool{}
	for _, w := range workloads {
		selected[w] = true
		if findManifest(ws.Workloads, w) == nil {
			diags = append(diags, diag.Diagnostic{Severity: diag.Error, Rule: ruleManifest,
				Message: fmt.Sprintf("workload %q is not in the workspace", w), Fix: "check the --service name against copilot/<name>/manifest.yml"})
		}
	}
	if diags.HasErrors() {
		return nil, diags, &diag.Failure{Op: "render", Diags: diags}
	}

	var envStacks, wkldStacks []Stack
	for _, env := range envs {
		if err := opts.cancelled(); err != nil {
			return nil, diags, err
		}
		vars := opts.Vars
		vars.App, vars.Env = app, env
		decoded := map[string]*manifest.Workload{}
		for _, w := range ws.Workloads {
			if m := opts.decoded[w.Name]; m != nil {
				decoded[w.Name] = m
				continue
			}
			doc, rd := resolve(w, env, vars)
			diags = append(diags, rd...)
			if doc == nil {
				continue
			}
			// Every workload, selected or not, shapes the environment stack
			// (NATWorkloads, ALBWorkloads, ...): one that does not decode
			// stops the render.
			m, err := manifest.DecodeWorkload(w.Kind, doc)
			if err != nil {
				diags = append(diags, diag.Diagnostic{File: w.Path, Line: errorLine(err), Severity: diag.Error, Rule: ruleManifest, Env: env,
					Message: fmt.Sprintf("decode %s manifest: %v", w.Kind, err)})
				continue
			}
			decoded[w.Name] = m
		}
		em := findManifest(ws.Environments, env)
		publicTLS, internalTLS := environmentTLS(em, app, env, vars, opts.AppDomain)
		if em != nil {
			// The environment stack is always rendered with its workloads:
			// it carries the NATWorkloads they need and is deployed first.
			st, ed := renderEnvStack(ws, em, app, env, vars, decoded, opts)
			diags = append(diags, ed...)
			if st != nil {
				envStacks = append(envStacks, *st)
			}
		} else {
			diags = append(diags, diag.Diagnostic{Severity: diag.Warning, Rule: ruleManifest, Env: env,
				Message: fmt.Sprintf("environment %q has no manifest in the workspace; its stack is not rendered", env),
				Fix:     fmt.Sprintf("add copilot/environments/%s/manifest.yml", env)})
		}
		// Rule priorities are assigned per listener over all the
		// environment's services, selected or not, so a selection never
		// renumbers one.
		// The main rule is keyed by the service's name, additional rule N
		// by name#N, so adding a rule renumbers no other.
		publicPaths, internalPaths := map[string]string{}, map[string]string{}
		ruleKeys := map[string][]string{}
		for _, w := range ws.Workloads {
			m := decoded[w.Name]
			if m == nil {
				continue
			}
			paths := publicPaths
			switch n := needsOf(m); {
			case n.alb:
			case n.internalALB:
				paths = internalPaths
			default:
				continue
			}
			h := m.ECS.HTTP
			for i, r := range append([]manifest.RoutingRule{h.RoutingRule}, h.AdditionalRules...) {
				key := w.Name
				if i > 0 {
					key = fmt.Sprintf("%s#%d", w.Name, i)
				}
				paths[key] = normalizePath(deref(r.Path))
				ruleKeys[w.Name] = append(ruleKeys[w.Name], key)
			}
		}
		byKey := assignRulePriorities(app, env, publicPaths)
		for key, p := range assignRulePriorities(app, env, internalPaths) {
			byKey[key] = p
		}
		priorities := map[string][]int{}
		for name, keys := range ruleKeys {
			paths := publicPaths
			if _, ok := paths[keys[0]]; !ok {
				paths = internalPaths
			}
			priorities[name] = inRuleOrder(keys, paths, byKey)
		}
		for _, w := range ws.Workloads {
			if len(selected) > 0 && !selected[w.Name] {
				continue
			}
			if err := opts.cancelled(); err != nil {
				return nil, diags, err
			}
			if w.Kind == workspace.LoadBalancedWebService || w.Kind == workspace.BackendService {
				if m := decoded[w.Name]; m != nil {
					tls := publicTLS
					if w.Kind == workspace.BackendService {
						tls = internalTLS
					}
					st, wd := renderECSService(ecsInput{app: app, env: env, file: w.Path, name: w.Name, kind: w.Kind, m: m, addons: w.Addons, opts: opts,
						priorities: priorities[w.Name], tls: tls})
					diags = append(diags, wd...)
					if st != nil {
						wkldStacks = append(wkldStacks, *st)
					}
				}
				continue
			}
			if w.Kind == workspace.ScheduledJob {
				if m := decoded[w.Name]; m != nil {
					st, wd := renderJob(ecsInput{app: app, env: env, file: w.Path, name: w.Name, kind: w.Kind, m: m, addons: w.Addons, opts: opts})
					diags = append(diags, wd...)
					if st != nil {
						wkldStacks = append(wkldStacks, *st)
					}
				}
				continue
			}
			if w.Kind == workspace.WorkerService {
				if m := decoded[w.Name]; m != nil {
					st, wd := renderWorker(ecsInput{app: app, env: env, file: w.Path, name: w.Name, kind: w.Kind, m: m, addons: w.Addons, opts: opts},
						publishedTopics(ws, decoded))
					diags = append(diags, wd...)
					if st != nil {
						wkldStacks = append(wkldStacks, *st)
					}
				}
				continue
			}
			if w.Kind == workspace.StaticSite {
				if m := decoded[w.Name]; m != nil {
					st, wd := renderStaticSite(ecsInput{app: app, env: env, file: w.Path, name: w.Name, kind: w.Kind, m: m, addons: w.Addons, opts: opts}, ws.Root)
					diags = append(diags, wd...)
					if st != nil {
						wkldStacks = append(wkldStacks, *st)
					}
				}
				continue
			}
			if w.Kind != workspace.RequestDrivenWebService {
				diags = append(diags, diag.Diagnostic{File: w.Path, Line: kindLine(w), Severity: diag.Error, Rule: ruleUnsupported, Env: env,
					Message: fmt.Sprintf("rendering %s is not supported yet", w.Kind)})
				continue
			}
			m := decoded[w.Name]
			if m == nil {
				continue
			}
			st, wd := renderRDWS(rdwsInput{app: app, env: env, file: w.Path, name: w.Name, m: m, addons: w.Addons, opts: opts})
			diags = append(diags, wd...)
			if st != nil {
				wkldStacks = append(wkldStacks, *st)
			}
		}
	}
	diags.Sort()
	diags = diags.Dedup()
	if diags.HasErrors() {
		return nil, diags, &diag.Failure{Op: "render", Diags: diags}
	}
	return append(envStacks, wkldStacks...), diags, nil
}

// cancelled returns the context's error once it is done.
func (o Options) cancelled() error {
	if o.Context == nil || o.Context.Err() == nil {
		return nil
	}
	return fmt.Errorf("render stopped: %w", o.Context.Err())
}

func findManifest(ms []*workspace.Manifest, name string) *workspace.Manifest {
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	return nil
}

func kindLine(m *workspace.Manifest) int {
	if n := workspace.Lookup(m.Doc, "type"); n != nil {
		return n.Line
	}
	return 0
}

// resolve returns the manifest as deployed to env: interpolated, with the
// environment override merged in by the workspace's Copilot rules.
func resolve(m *workspace.Manifest, env string, vars workspace.Vars) (*yaml.Node, diag.List) {
	doc, diags := m.Resolve(env, vars)
	if diags.HasErrors() || doc == nil {
		if !diags.HasErrors() {
			diags = append(diags, diag.Diagnostic{File: m.Path, Severity: diag.Error, Rule: ruleManifest, Env: env,
				Message: "manifest did not parse", Fix: "fix the YAML syntax"})
		}
		return nil, diags
	}
	return doc, diags
}

func sizeCheck(st *Stack, file string) diag.List {
	if len(st.Template) <= maxInlineTemplate {
		return nil
	}
	return diag.List{{File: file, Severity: diag.Warning, Rule: ruleSize, Env: st.Env,
		Message: fmt.Sprintf("template of stack %s is %d bytes, over CloudFormation's %d-byte limit for an inline template", st.Name, len(st.Template), maxInlineTemplate),
		Fix:     "deploy must upload it to S3 and pass TemplateURL"}}
}

// WriteDir writes each stack as DIR/<stack>.template.yml, DIR/<stack>.params.json
// ({"Parameters": {...}, "Tags": {...}}, keys sorted) and, with addons,
// DIR/<stack>.addons.template.yml. The output is byte-identical across runs.
func WriteDir(dir string, stacks []Stack) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output folder %s: %w", dir, err)
	}
	for _, st := range stacks {
		params, err := ParamsJSON(st)
		if err != nil {
			return err
		}
		files := []struct {
			name string
			data []byte
		}{
			{st.Name + ".template.yml", st.Template},
			{st.Name + ".params.json", params},
		}
		if st.AddonsTemplate != nil {
			files = append(files, struct {
				name string
				data []byte
			}{st.Name + ".addons.template.yml", st.AddonsTemplate})
		}
		for _, f := range files {
			p := filepath.Join(dir, f.name)
			if err := os.WriteFile(p, f.data, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", p, err)
			}
		}
	}
	return nil
}

// ParamsJSON is a stack's parameters and tags in the form Copilot writes
// with `svc package --output-dir`.
func ParamsJSON(st Stack) ([]byte, error) {
	doc := struct {
		Parameters map[string]string `json:"Parameters"`
		Tags       map[string]string `json:"Tags,omitempty"`
	}{st.Parameters, st.Tags}
	if doc.Parameters == nil {
		doc.Parameters = map[string]string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode parameters of stack %s: %w", st.Name, err)
	}
	return buf.Bytes(), nil
}

// workloadStack encodes a workload's template into its Stack, named and
// tagged as Copilot names and tags it, deployed after its environment.
func workloadStack(app, env, name string, kind workspace.Kind, opts Options, tpl *yaml.Node, params map[string]string, addons *mergedAddons) (*Stack, error) {
	body, err := opts.encode(tpl)
	if err != nil {
		return nil, fmt.Errorf("encode template: %w", err)
	}
	st := &Stack{
		Name:       stackName(app, env, name),
		Kind:       string(kind),
		Env:        env,
		Workload:   name,
		Template:   body,
		Parameters: params,
		Tags:       stackTags(opts.Tags, app, env, name),
		DependsOn:  []string{stackName(app, env, "")},
	}
	if addons != nil {
		st.AddonsTemplate = addons.Template
		addObjects(st, addons.Objects)
	}
	return st, nil
}

// addObjects adds objects for deploy to upload to the stack's.
func addObjects(st *Stack, objects map[string][]byte) {
	for k, v := range objects {
		if st.Objects == nil {
			st.Objects = map[string][]byte{}
		}
		st.Objects[k] = v
	}
}

// workloadTemplate starts a workload template as Copilot's do — format
// version, description, and metadata holding the interpolated manifest —
// followed by its sections (key, value pairs).
func workloadTemplate(description, manifest string, sections ...any) *yaml.Node {
	head := []any{
		"AWSTemplateFormatVersion", "2010-09-09",
		"Description", description,
		"Metadata", kv("Version", copilotTemplateVersion, "Manifest", literal(manifest), "RenderedBy", "autopilot"),
	}
	return kv(append(head, sections...)...)
}

// failFunc adds an error finding positioned at a field (noPos: the file).
type failFunc func(at manifest.Pos, rule, msg, fix string)

// noPos positions a finding on the whole manifest.
var noPos manifest.Pos

// failer returns a failFunc that adds findings for file and env to *diags.
func failer(diags *diag.List, file, env string) failFunc {
	return func(at manifest.Pos, rule, msg, fix string) {
		*diags = append(*diags, diag.Diagnostic{File: file, Severity: diag.Error, Rule: rule, Message: msg, Fix: fix, Env: env, Line: at.Line, Column: at.Column})
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
