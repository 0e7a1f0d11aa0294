// Command build is the benchmark driver for `autopilot build`: it starts a
// local registry behind a byte-counting proxy, generates a build context,
// and builds and pushes with internal/image. run.sh compares it with
// buildah and crane.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/autopilot-dev/autopilot/internal/fakes/registry"
	"github.com/autopilot-dev/autopilot/internal/image"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: build serve|gen|base|push|bytes|reset [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "gen":
		err = gen(os.Args[2:])
	case "base":
		err = base(os.Args[2:])
	case "push":
		err = push(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// serve runs an unauthenticated registry (the benchmark's tools then need
// no password on their command lines) and a control port: GET /bytes
// prints the bytes uploaded since the last POST /reset.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "", "storage folder")
	hostFile := fs.String("host-file", "", "write host:port of the registry here")
	ctlFile := fs.String("ctl-file", "", "write host:port of the control port here")
	fs.Parse(args)
	// run.sh stops it with SIGTERM: close the registry then too, or it outlives the run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reg, err := registry.Start(ctx, registry.Options{Dir: *dir, NoAuth: true})
	if err != nil {
		return err
	}
	defer reg.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bytes", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, reg.BytesUploaded()) })
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, reg.Requests()) })
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) { reg.Reset() })
	go http.Serve(ln, mux)
	os.WriteFile(*ctlFile, []byte(ln.Addr().String()), 0o644)
	os.WriteFile(*hostFile, []byte(reg.Host), 0o644)
	<-ctx.Done()
	return nil
}

// gen writes ~50 MB in 2,000 files: sources, a vendored dependency folder
// and a few large assets, all random so compression cannot hide bytes.
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "", "context folder to create")
	fs.Parse(args)
	write := func(rel string, size int) error {
		p := filepath.Join(*dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		b := make([]byte, size)
		rand.Read(b)
		return os.WriteFile(p, b, 0o644)
	}
	for i := 0; i < 1500; i++ { // 1,500 × 16 KiB = 24 MB of sources
		if err := write(fmt.Sprintf("src/mod%02d/file%04d.py", i%30, i), 16<<10); err != nil {
			return err
		}
	}
	for i := 0; i < 490; i++ { // 490 × 24 KiB = 12 MB of dependencies
		if err := write(fmt.Sprintf("vendor/lib%02d/f%04d.py", i%10, i), 24<<10); err != nil {
			return err
		}
	}
	for i := 0; i < 10; i++ { // 10 × 1.4 MB = 14 MB of assets
		if err := write(fmt.Sprintf("static/asset%02d.bin", i), 1400<<10); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(*dir, "Dockerfile"), []byte("FROM "+os.Getenv("BASE")+"\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"app.py\"]\n"), 0o644)
}

// base pushes a one-layer busybox image to be FROM for every tool.
func base(args []string) error {
	fs := flag.NewFlagSet("base", flag.ExitOnError)
	ref := fs.String("ref", "", "where to push")
	fs.Parse(args)
	layer, err := tarball.LayerFromFile(os.Getenv("BASE_TAR"))
	if err != nil {
		return err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer})
	if err != nil {
		return err
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	img = mutate.MediaType(img, types.DockerManifestSchema2)
	r, err := name.ParseReference(*ref)
	if err != nil {
		return err
	}
	return remote.Write(r, img)
}

// push builds the context and pushes it, printing the seconds taken.
func push(args []string) error {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	dir := fs.String("context", "", "context folder")
	repo := fs.String("repo", "", "REGISTRY/NAME")
	cache := fs.String("cache", "", "layer cache folder")
	split := fs.Bool("split", true, "split large COPY layers")
	jobs := fs.Int("jobs", 4, "parallel compression and uploads")
	profile := fs.String("cpuprofile", "", "write a CPU profile here")
	overlap := fs.Bool("overlap", true, "upload layers while building (BuildAndPush) rather than after (Build, then Push)")
	trace := fs.Bool("trace", false, "print every registry request with its start, duration and status to stderr")
	fs.Parse(args)
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	ctx := context.Background()
	opts := []image.Option{image.WithJobs(*jobs)}
	if *trace {
		opts = append(opts, image.WithTransport(&tracer{next: http.DefaultTransport, start: start}))
	}
	spec := image.BuildSpec{Context: *dir, Dockerfile: filepath.Join(*dir, "Dockerfile")}
	opts = append(opts, image.WithCacheDir(*cache), image.WithSplitLayers(*split, 0), image.WithSourceDateEpoch(time.Unix(1700000000, 0)))
	dst := image.Destination{Repository: *repo}
	var (
		img   v1.Image
		p     *image.Pushed
		err   error
		built time.Duration
	)
	if *overlap {
		img, p, err = image.BuildAndPush(ctx, spec, dst, []string{"latest"}, opts...)
	} else {
		img, err = image.Build(ctx, spec, opts...)
		built = time.Since(start)
		if err == nil {
			p, err = image.Push(ctx, img, dst, []string{"latest"}, opts...)
		}
	}
	if err != nil {
		return err
	}
	layers, _ := img.Layers()
	fmt.Printf("%.3f build=%.3f layers=%d skipped=%v digest=%s\n", time.Since(start).Seconds(), built.Seconds(), len(layers), p.Skipped, short(p.Digest))
	return nil
}

func short(h v1.Hash) string { return strings.TrimPrefix(h.String(), "sha256:")[:12] }

// tracer prints each registry request: start and duration in milliseconds
// since the push began, method, path and status.
type tracer struct {
	next  http.RoundTripper
	start time.Time
}

func (t *tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	t0 := time.Since(t.start)
	resp, err := t.next.RoundTrip(req)
	status := "error"
	if err == nil {
		status = fmt.Sprint(resp.StatusCode)
	}
	p := req.URL.Path
	if i := strings.LastIndex(p, "/"); i >= 0 && len(p)-i > 20 {
		p = p[:i+13] + "…"
	}
	fmt.Fprintf(os.Stderr, "%6.1f %6.1f %-6s %-6s %s len=%d\n", t0.Seconds()*1000, (time.Since(t.start)-t0).Seconds()*1000, req.Method, status, p, req.ContentLength)
	return resp, err
}
