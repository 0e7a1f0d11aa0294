package render

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"github.com/autopilot-dev/autopilot/internal/manifest"
)

// envFileBucketPlaceholder stands for the artifacts bucket in env-file ARNs
// while it is unknown (an offline render without --artifacts-bucket);
// plan and deploy find the real one or refuse.
const envFileBucketPlaceholder = "autopilot-unknown-artifacts-bucket"

// maxEnvFileBytes is ECS's limit for one environment file.
const maxEnvFileBytes = 5 << 20

// envFileRef is one container's env_file: the task-definition parameter
// holding its S3 ARN and the object behind it.
type envFileRef struct {
	param string // EnvFileARN, LoggingEnvFileARN or EnvFileARNFor<sidecar>
	arn   string
	key   string // object key in the artifacts bucket
	body  []byte
}

// EnvFileKey is where Copilot stores an env file in the application's
// artifacts bucket: manual/env-files/<path as written>/<sha256 of the
// content>.env. The key changes with the content, so a task definition
// names exactly the file that was reviewed, and an unchanged file is not
// uploaded again.
func EnvFileKey(file string, body []byte) string {
	sum := sha256.Sum256(body)
	return path.Join("manual", "env-files", file, hex.EncodeToString(sum[:])+".env")
}

// readEnvFiles reads every env_file of the task (main container, log
// router, sidecars) from the workspace, for the parameters Copilot's
// template already declares. A file must lie inside the workspace:
// a manifest naming ../ or a symlink out of it would otherwise carry any
// file of the runner (credentials) to S3.
func readEnvFiles(in ecsInput, m *ecsManifest, fail failFunc) {
	type want struct {
		field, param, file string
		at                 manifest.Pos
	}
	var wants []want
	if m.EnvFile != nil {
		wants = append(wants, want{"env_file", "EnvFileARN", *m.EnvFile, m.At("env_file")})
	}
	if l := m.Logging; l.EnvFile != nil {
		wants = append(wants, want{"logging.env_file", "LoggingEnvFileARN", *l.EnvFile, l.At("env_file")})
	}
	for _, s := range m.task.sidecars {
		if s.EnvFile != nil {
			wants = append(wants, want{"sidecars." + s.name + ".env_file", "EnvFileARNFor" + logicalIDSafe(s.name), *s.EnvFile, s.At("env_file")})
		}
	}
	if len(wants) == 0 {
		return
	}
	bucketARN := in.opts.ArtifactBucketARN
	if bucketARN == "" {
		bucketARN = "arn:aws:s3:::" + envFileBucketPlaceholder
	}
	var root *os.Root
	if in.opts.workspaceRoot != "" {
		r, err := os.OpenRoot(in.opts.workspaceRoot)
		if err != nil {
			fail(noPos, ruleManifest, fmt.Sprintf("open the workspace to read env files: %v", err), "")
			return
		}
		defer r.Close()
		root = r
	}
	for _, w := range wants {
		body, err := readEnvFile(root, w.file)
		if err != nil {
			fail(w.at, ruleManifest, fmt.Sprintf("%s %q: %v", w.field, w.file, err),
				"name a file with a .env extension inside the workspace, relative to the folder that holds copilot/")
			continue
		}
		key := EnvFileKey(w.file, body)
		m.task.envFiles = append(m.task.envFiles, envFileRef{param: w.param, arn: bucketARN + "/" + key, key: key, body: body})
	}
}

// readEnvFile reads one env file through root, which refuses paths out of
// the workspace. Errors never quote the content.
func readEnvFile(root *os.Root, file string) ([]byte, error) {
	if root == nil {
		return nil, errors.New("the manifests were given without their workspace (no copilot/ folder), so the file cannot be found")
	}
	if path.Ext(file) != ".env" {
		return nil, errors.New("ECS reads only files with the .env extension")
	}
	fi, err := root.Stat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("no such file in the workspace")
	case err != nil:
		return nil, fmt.Errorf("not readable inside the workspace: %w", err)
	case !fi.Mode().IsRegular():
		return nil, errors.New("not a regular file")
	case fi.Size() > maxEnvFileBytes:
		return nil, fmt.Errorf("%d bytes, over ECS's limit of 5 MiB", fi.Size())
	}
	return root.ReadFile(file)
}

// envFileParams sets the env-file parameters of the task to their ARNs.
func envFileParams(t ecsTask, values map[string]string) {
	for _, f := range t.envFiles {
		values[f.param] = f.arn
	}
}

// envFileObjects are the objects deploy puts in the artifacts bucket, by key.
func envFileObjects(t ecsTask) map[string][]byte {
	if len(t.envFiles) == 0 {
		return nil
	}
	out := map[string][]byte{}
	for _, f := range t.envFiles {
		out[f.key] = f.body
	}
	return out
}
