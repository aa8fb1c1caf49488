// compose-check loads a compose file the way `docker compose config` does (compose-go: the
// compose-spec JSON schema, interpolation, extends/anchors, then the model's own checks) and prints
// the services it found. CI has no Docker engine or compose plugin; the library is what the
// plugin itself uses, from the Go module proxy.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check <docker-compose.yml>")
		os.Exit(2)
	}
	file, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	options, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithOsEnv,
		cli.WithName("opentrail"),
		// Resolve paths and validate exactly as the plugin does; no engine is contacted.
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	names := project.ServiceNames()
	sort.Strings(names)
	fmt.Printf("compose: %s valid (compose-spec schema and model): %d services %v, %d volumes\n", filepath.Base(file), len(names), names, len(project.Volumes))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose: INVALID: %v\n", err)
	os.Exit(1)
}
