package image_test

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/image"
)

func ExampleSpecFromManifest() {
	var manifest yaml.Node
	_ = yaml.Unmarshal([]byte("name: api\nimage:\n  build:\n    context: .\n    dockerfile: api/Dockerfile\n    args: {GO: '1.26'}\n  port: 8080\n"), &manifest)
	spec, ok, err := image.SpecFromManifest("/ws", "api", &manifest)
	if err != nil || !ok {
		fmt.Println(ok, err)
		return
	}
	fmt.Println(spec.Context, spec.Dockerfile, spec.Args["GO"], spec.Platform)
	fmt.Println(image.RepositoryName("demo", "api"))
	// Output:
	// /ws /ws/api/Dockerfile 1.26 linux/amd64
	// demo/api
}
