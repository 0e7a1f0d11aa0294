package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"golang.org/x/sync/errgroup"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Runner executes RUN instructions; the next issue supplies one. Build
// refuses RUN while none is set.
type Runner interface {
	// Run executes cmd on the stage's filesystem and returns the layer of
	// its changes. key identifies the instruction and everything before it
	// in the stage, for caching.
	Run(ctx context.Context, stage *StageState, cmd *instructions.RunCommand, key string) (v1.Layer, error)
}

// StageState is what a Runner sees of the stage being built.
type StageState struct {
	// Image is the stage so far: its base plus the layers made before the
	// instruction, with the current config.
	Image v1.Image
	// Env, WorkingDir, User and Shell are the current values.
	Env        []string
	WorkingDir string
	User       string
	Shell      []string
	// Args are the ARG values in scope (build args applied), which RUN
	// sees as environment variables but the image does not keep.
	Args map[string]string
}

// Build builds spec's Dockerfile into an image without a Docker daemon.
// COPY and ADD layers are cached in the cache folder (WithCacheDir) by the
// content they hold, so unchanged layers are neither tarred nor compressed.
func Build(ctx context.Context, spec BuildSpec, opts ...Option) (v1.Image, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	b, err := newBuilder(ctx, spec, o)
	if err != nil {
		return nil, err
	}
	img, err := b.run()
	if serr := b.ctx.stats.save(); err == nil && serr != nil {
		err = fmt.Errorf("save the stat cache: %w", serr)
	}
	if err != nil {
		return nil, err
	}
	return img, nil
}

type builder struct {
	context  context.Context
	spec     BuildSpec
	o        *options
	file     string // the Dockerfile as named in messages
	epoch    time.Time
	platform v1.Platform
	ctx      *buildContext
	cache    *LayerCache
	stages   []instructions.Stage
	meta     map[string]string
	lex      *shell.Lex
	built    map[int]v1.Image
	views    map[string]*imageSource
	// final holds the stages whose layers end up in the target image:
	// the target and the stages it is built FROM, in a chain.
	final map[int]bool
}

func newBuilder(ctx context.Context, spec BuildSpec, o *options) (*builder, error) {
	if spec.Dockerfile == "" || spec.Context == "" {
		return nil, errors.New("BuildSpec needs both Context and Dockerfile")
	}
	platform := spec.Platform
	if platform == "" {
		platform = DefaultPlatform
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", platform, err)
	}
	epoch, err := o.epochFor(spec.Context)
	if err != nil {
		return nil, err
	}
	b := &builder{context: ctx, spec: spec, o: o, file: spec.Dockerfile, epoch: epoch, platform: *p,
		cache: NewLayerCache(o.cacheDir, "keys"), built: map[int]v1.Image{}, views: map[string]*imageSource{}}
	if rel, err := filepath.Rel(spec.Context, spec.Dockerfile); err == nil && !strings.HasPrefix(rel, "..") {
		b.file = filepath.Join(filepath.Base(spec.Context), rel)
	}
	src, err := os.ReadFile(spec.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	if err := b.parse(src); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(spec.Context))
	stats := openStatCache(filepath.Join(o.cacheDir, "stat", hex.EncodeToString(sum[:8])+".json"))
	if b.ctx, err = loadContext(spec.Context, spec.Dockerfile, stats); err != nil {
		return nil, err
	}
	return b, nil
}

// lineErr names the Dockerfile line of a command in an error.
func (b *builder) lineErr(cmd instructions.Command, format string, args ...any) error {
	line := 0
	if loc := cmd.Location(); len(loc) > 0 {
		line = loc[0].Start.Line
	}
	return fmt.Errorf("%s:%d: "+format, append([]any{b.file, line}, args...)...)
}

func (b *builder) parse(src []byte) error {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return fmt.Errorf("%s: %w", b.file, err)
	}
	b.lex = shell.NewLex(res.EscapeToken)
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", b.file, err)
	}
	if len(stages) == 0 {
		return fmt.Errorf("%s: no FROM instruction; a Dockerfile starts with FROM <image>", b.file)
	}
	b.stages = stages
	// Refuse what cannot be built before any work is done.
	for _, st := range stages {
		for _, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.RunCommand:
				if b.o.runner == nil {
					return b.lineErr(cmd, "RUN needs the chroot executor, which runs as root, as in a GitHub Actions container (%s); run autopilot as root, or move the step into a base image", shortText(c.String()))
				}
			case *instructions.OnbuildCommand:
				return b.lineErr(cmd, "ONBUILD is not supported: it only affects images built FROM this one; remove it")
			case *instructions.CopyCommand:
				if c.Parents {
					return b.lineErr(cmd, "COPY --parents is not supported; copy each folder to its destination")
				}
				if len(c.ExcludePatterns) > 0 {
					return b.lineErr(cmd, "COPY --exclude is not supported; use .dockerignore")
				}
			case *instructions.AddCommand:
				for _, s := range c.SourcePaths {
					if isRemote(s) {
						return b.lineErr(cmd, "ADD %s: remote URLs and git sources are not supported (nothing outside the build context is read); download the file into the context first", s)
					}
				}
				if len(c.ExcludePatterns) > 0 {
					return b.lineErr(cmd, "ADD --exclude is not supported; use .dockerignore")
				}
			}
		}
	}
	// ARGs before the first FROM, with --build-arg overrides and the
	// platform arguments BuildKit predefines.
	b.meta = map[string]string{}
	for k, v := range b.platformArgs() {
		b.meta[k] = v
	}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			v, ok := b.spec.Args[kv.Key]
			if !ok && kv.Value != nil {
				v, err = b.expand(*kv.Value, b.meta)
				if err != nil {
					return b.lineErr(&a, "%v", err)
				}
				ok = true
			}
			if ok {
				b.meta[kv.Key] = v
			}
		}
	}
	return nil
}

func isRemote(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "git@") || strings.HasPrefix(l, "git://")
}

func (b *builder) platformArgs() map[string]string {
	p := b.platform
	full := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		full += "/" + p.Variant
	}
	return map[string]string{
		"TARGETPLATFORM": full, "TARGETOS": p.OS, "TARGETARCH": p.Architecture, "TARGETVARIANT": p.Variant,
		"BUILDPLATFORM": full, "BUILDOS": p.OS, "BUILDARCH": p.Architecture, "BUILDVARIANT": p.Variant,
	}
}

type envMap map[string]string

func (e envMap) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envMap) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (b *builder) expand(word string, env map[string]string) (string, error) {
	out, _, err := b.lex.ProcessWord(word, envMap(env))
	return out, err
}

// stageIndex finds a stage by name (case-insensitive) or number.
func (b *builder) stageIndex(ref string, before int) (int, bool) {
	for i := 0; i < before && i < len(b.stages); i++ {
		if b.stages[i].Name != "" && strings.EqualFold(b.stages[i].Name, ref) {
			return i, true
		}
	}
	var n int
	if _, err := fmt.Sscanf(ref, "%d", &n); err == nil && fmt.Sprint(n) == ref && n >= 0 && n < before {
		return n, true
	}
	return 0, false
}

func (b *builder) run() (v1.Image, error) {
	target := len(b.stages) - 1
	if b.spec.Target != "" {
		i, ok := b.stageIndex(b.spec.Target, len(b.stages))
		if !ok {
			var names []string
			for _, s := range b.stages {
				if s.Name != "" {
					names = append(names, s.Name)
				}
			}
			return nil, fmt.Errorf("%s: target stage %q not found (stages: %s)", b.file, b.spec.Target, strings.Join(names, ", "))
		}
		target = i
	}
	needed := map[int]bool{}
	if err := b.markNeeded(target, needed); err != nil {
		return nil, err
	}
	b.final = map[int]bool{}
	for i, ok := target, true; ok && !b.final[i]; {
		b.final[i] = true
		base, err := b.expand(b.stages[i].BaseName, b.meta)
		if err != nil {
			break // markNeeded has reported it
		}
		i, ok = b.stageIndex(base, i)
	}
	for i := 0; i <= target; i++ {
		if !needed[i] {
			continue
		}
		img, err := b.buildStage(i)
		if err != nil {
			return nil, err
		}
		b.built[i] = img
	}
	return b.finish(b.built[target])
}

// markNeeded finds the stages the target depends on, so unused ones are skipped.
func (b *builder) markNeeded(i int, needed map[int]bool) error {
	if needed[i] {
		return nil
	}
	needed[i] = true
	st := b.stages[i]
	base, err := b.expand(st.BaseName, b.meta)
	if err != nil {
		return fmt.Errorf("%s: FROM %s: %w", b.file, st.BaseName, err)
	}
	if j, ok := b.stageIndex(base, i); ok {
		if err := b.markNeeded(j, needed); err != nil {
			return err
		}
	}
	for _, cmd := range st.Commands {
		if c, ok := cmd.(*instructions.CopyCommand); ok && c.From != "" {
			if j, ok := b.stageIndex(c.From, i); ok {
				if err := b.markNeeded(j, needed); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// stage is the state of the stage being built.
type stage struct {
	index     int
	base      v1.Image
	cfg       v1.Config
	args      map[string]string
	history   []v1.History
	layers    []pendingLayer
	cmdSet    bool
	mediaType types.MediaType
}

type pendingLayer struct {
	spec    *layerSpec
	history int // index into stage.history
}

func (st *stage) env() map[string]string {
	m := map[string]string{}
	for k, v := range st.args {
		m[k] = v
	}
	for _, kv := range st.cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func (st *stage) setEnv(k, v string) {
	for i, kv := range st.cfg.Env {
		if strings.HasPrefix(kv, k+"=") {
			st.cfg.Env[i] = k + "=" + v
			return
		}
	}
	st.cfg.Env = append(st.cfg.Env, k+"="+v)
}

func (b *builder) buildStage(i int) (v1.Image, error) {
	src := b.stages[i]
	baseName, err := b.expand(src.BaseName, b.meta)
	if err != nil {
		return nil, fmt.Errorf("%s: FROM %s: %w", b.file, src.BaseName, err)
	}
	platform := b.platform
	if src.Platform != "" {
		ps, err := b.expand(src.Platform, b.meta)
		if err != nil {
			return nil, fmt.Errorf("%s: FROM --platform=%s: %w", b.file, src.Platform, err)
		}
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			return nil, fmt.Errorf("%s: FROM --platform=%s: %w", b.file, ps, err)
		}
		platform = *p
	}
	var base v1.Image
	switch j, isStage := b.stageIndex(baseName, i); {
	case isStage:
		base = b.built[j]
	case strings.EqualFold(baseName, "scratch"):
		base = mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	default:
		if base, err = loadImage(b.context, b.o, baseName, platform); err != nil {
			return nil, fmt.Errorf("%s:%d: FROM %s: %w", b.file, src.Location[0].Start.Line, baseName, err)
		}
	}
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s: FROM %s: read config: %w", b.file, baseName, err)
	}
	mt, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("%s: FROM %s: %w", b.file, baseName, err)
	}
	st := &stage{index: i, base: base, cfg: *cf.Config.DeepCopy(), args: map[string]string{}, mediaType: mt}
	for k, v := range b.platformArgs() {
		st.args[k] = v
	}
	for _, cmd := range src.Commands {
		if err := b.context.Err(); err != nil {
			return nil, err
		}
		if err := b.apply(st, cmd); err != nil {
			return nil, err
		}
	}
	return b.assemble(st)
}

func (b *builder) apply(st *stage, cmd instructions.Command) error {
	env := st.env()
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if err := ex.Expand(func(w string) (string, error) { return b.expand(w, env) }); err != nil {
			return b.lineErr(cmd, "%v", err)
		}
	}
	createdBy := shortHistory(cmd)
	empty := true
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			st.setEnv(kv.Key, kv.Value)
		}
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			v, ok := b.spec.Args[kv.Key]
			if !ok {
				if mv, isMeta := b.meta[kv.Key]; isMeta && kv.Value == nil {
					v, ok = mv, true
				} else if kv.Value != nil {
					v, ok = *kv.Value, true
				}
			}
			if ok {
				st.args[kv.Key] = v
			} else {
				delete(st.args, kv.Key) // declared without a value: unset, as in Docker
			}
		}
	case *instructions.LabelCommand:
		if st.cfg.Labels == nil {
			st.cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			st.cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.MaintainerCommand:
		// Only the config's author field, which v1.Config does not carry; ignored as deprecated.
	case *instructions.WorkdirCommand:
		st.cfg.WorkingDir = b.absPath(st, c.Path)
	case *instructions.UserCommand:
		st.cfg.User = c.User
	case *instructions.ExposeCommand:
		if st.cfg.ExposedPorts == nil {
			st.cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			p, err := b.expand(p, env)
			if err != nil {
				return b.lineErr(cmd, "%v", err)
			}
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			st.cfg.ExposedPorts[p] = struct{}{}
		}
	case *instructions.EntrypointCommand:
		st.cfg.Entrypoint = b.cmdLine(st, c.ShellDependantCmdLine)
		if !st.cmdSet {
			st.cfg.Cmd = nil
		}
	case *instructions.CmdCommand:
		st.cfg.Cmd = b.cmdLine(st, c.ShellDependantCmdLine)
		st.cmdSet = true
	case *instructions.HealthCheckCommand:
		h := c.Health
		st.cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	case *instructions.StopSignalCommand:
		st.cfg.StopSignal = c.Signal
	case *instructions.VolumeCommand:
		if st.cfg.Volumes == nil {
			st.cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if strings.TrimSpace(v) == "" {
				return b.lineErr(cmd, "VOLUME needs a path")
			}
			st.cfg.Volumes[v] = struct{}{}
		}
	case *instructions.ShellCommand:
		st.cfg.Shell = append([]string(nil), c.Shell...)
	case *instructions.CopyCommand:
		specs, err := b.copySpecs(st, cmd, copyArgs{sources: c.SourcePaths, contents: c.SourceContents, dest: c.DestPath, from: c.From, chown: c.Chown, chmod: c.Chmod})
		if err != nil {
			return err
		}
		b.addLayers(st, specs, createdBy)
		empty = false
	case *instructions.AddCommand:
		unpack := c.Unpack == nil || *c.Unpack
		specs, err := b.copySpecs(st, cmd, copyArgs{sources: c.SourcePaths, contents: c.SourceContents, dest: c.DestPath, chown: c.Chown, chmod: c.Chmod, add: true, unpack: unpack})
		if err != nil {
			return err
		}
		b.addLayers(st, specs, createdBy)
		empty = false
	case *instructions.RunCommand:
		return b.runWith(st, c, createdBy)
	default:
		return b.lineErr(cmd, "%s is not supported", strings.ToUpper(cmd.Name()))
	}
	if empty {
		st.history = append(st.history, v1.History{Created: v1.Time{Time: b.epoch}, CreatedBy: createdBy, EmptyLayer: true})
	}
	return nil
}

func (b *builder) addLayers(st *stage, specs []*layerSpec, createdBy string) {
	for _, s := range specs {
		s.createdBy = createdBy
		st.history = append(st.history, v1.History{Created: v1.Time{Time: b.epoch}, CreatedBy: createdBy})
		st.layers = append(st.layers, pendingLayer{spec: s, history: len(st.history) - 1})
	}
}

// runWith hands RUN to the Runner with the stage as built so far.
func (b *builder) runWith(st *stage, c *instructions.RunCommand, createdBy string) error {
	img, err := b.assemble(st)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	key := sha256.Sum256([]byte(digest.String() + "\n" + c.String()))
	state := &StageState{Image: img, Env: st.cfg.Env, WorkingDir: st.cfg.WorkingDir, User: st.cfg.User, Shell: st.cfg.Shell, Args: st.args}
	layer, err := b.o.runner.Run(b.context, state, c, hex.EncodeToString(key[:]))
	if err != nil {
		return b.lineErr(c, "%w", err)
	}
	// Continue from the assembled image so the RUN layer follows the earlier ones.
	st.base, st.layers, st.history = img, nil, nil
	st.base, err = mutate.Append(st.base, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: b.epoch}, CreatedBy: createdBy}})
	return err
}

func (b *builder) cmdLine(st *stage, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string(nil), c.CmdLine...)
	}
	sh := st.cfg.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string(nil), sh...), strings.Join(c.CmdLine, " "))
}

func (b *builder) absPath(st *stage, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	wd := st.cfg.WorkingDir
	if wd == "" {
		wd = "/"
	}
	return path.Join(wd, p)
}

// shortHistory is the history line of an instruction, as Docker writes it.
func shortHistory(cmd instructions.Command) string {
	if s, ok := cmd.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(cmd.Name())
}

// assemble makes the stage's pending layers (in parallel, from the cache
// when possible) and the image with its final config.
func (b *builder) assemble(st *stage) (v1.Image, error) {
	mt := layerMediaType(st.mediaType)
	made := make([]v1.Layer, len(st.layers))
	g, gctx := errgroup.WithContext(b.context)
	g.SetLimit(b.o.jobs)
	for _, i := range largestFirst(st.layers) {
		pl := st.layers[i]
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			if err := pl.spec.hashContents(); err != nil {
				return fmt.Errorf("%s: %w", shortText(pl.spec.createdBy), err)
			}
			key := pl.spec.key(b.epoch)
			if l, ok := b.cache.Lookup(key, mt); ok {
				made[i] = l
				return nil
			}
			if b.o.layerMissed != nil && b.final[st.index] {
				b.o.layerMissed()
			}
			spec := pl.spec
			l, err := b.cache.Make(key, mt, func(tw *tar.Writer) error {
				if spec.write != nil {
					return spec.write(tw, b.epoch)
				}
				return writeEntries(tw, spec.entries, b.epoch)
			})
			if err != nil {
				return fmt.Errorf("make layer for %s: %w", shortText(spec.createdBy), err)
			}
			made[i] = l
			if b.o.layerReady != nil && b.final[st.index] {
				b.o.layerReady(l)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	img := st.base
	if len(made) > 0 {
		adds := make([]mutate.Addendum, len(made))
		for i, l := range made {
			adds[i] = mutate.Addendum{Layer: l, MediaType: mt}
		}
		var err error
		if img, err = mutate.Append(img, adds...); err != nil {
			return nil, fmt.Errorf("append layers: %w", err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	baseCF, err := st.base.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf.History = append(append([]v1.History(nil), baseCF.History...), st.history...)
	cf.Config = st.cfg
	cf.Created = v1.Time{Time: b.epoch}
	cf.Container, cf.DockerVersion = "", ""
	cf.OS, cf.Architecture, cf.Variant = b.platform.OS, b.platform.Architecture, b.platform.Variant
	if st.base != nil && len(baseCF.RootFS.DiffIDs) > 0 && baseCF.Architecture != "" {
		cf.OS, cf.Architecture, cf.Variant = baseCF.OS, baseCF.Architecture, baseCF.Variant
	}
	if cf.RootFS.Type == "" {
		cf.RootFS.Type = "layers"
	}
	return mutate.ConfigFile(img, cf)
}

// largestFirst orders layers for making: the largest first, so the long
// compressions overlap the short ones instead of ending the build (and,
// with BuildAndPush, its uploads) on their own.
func largestFirst(layers []pendingLayer) []int {
	size := make([]int64, len(layers))
	order := make([]int, len(layers))
	for i, pl := range layers {
		order[i] = i
		for _, e := range pl.spec.entries {
			size[i] += e.size
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return size[order[a]] > size[order[b]] })
	return order
}

// finish adds the spec's labels and annotations to the target stage.
func (b *builder) finish(img v1.Image) (v1.Image, error) {
	if len(b.spec.Labels) == 0 && len(b.spec.Annotations) == 0 {
		return img, nil
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for _, k := range sortedKeys(b.spec.Annotations) {
		cf.Config.Labels[k] = b.spec.Annotations[k]
	}
	for _, k := range sortedKeys(b.spec.Labels) {
		cf.Config.Labels[k] = b.spec.Labels[k]
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	if mt == types.OCIManifestSchema1 && len(b.spec.Annotations) > 0 {
		annotated, ok := mutate.Annotations(img, b.spec.Annotations).(v1.Image)
		if !ok {
			return nil, errors.New("annotate image: unexpected type")
		}
		img = annotated
	}
	return img, nil
}
