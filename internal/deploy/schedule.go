package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
)

// order sorts stacks so each comes after the stacks it depends on, keeping
// the input order otherwise. deps[i] are the indexes (in the result) of the
// stacks stack i waits for; dependencies outside the set are already
// deployed and ignored.
func order(stacks []Stack) ([]Stack, [][]int, error) {
	index := map[string]int{}
	for i, s := range stacks {
		if s.Name == "" {
			return nil, nil, fmt.Errorf("stack %d has no name", i)
		}
		if _, dup := index[s.Name]; dup {
			return nil, nil, fmt.Errorf("stack %s is given twice", s.Name)
		}
		index[s.Name] = i
	}
	state := make([]int, len(stacks)) // 0 new, 1 visiting, 2 done
	var sorted []Stack
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch state[i] {
		case 1:
			return fmt.Errorf("stacks depend on each other in a cycle: %s", strings.Join(append(path, stacks[i].Name), " -> "))
		case 2:
			return nil
		}
		state[i] = 1
		deps := append([]string(nil), stacks[i].DependsOn...)
		sort.Strings(deps)
		for _, d := range deps {
			if j, ok := index[d]; ok {
				if err := visit(j, append(path, stacks[i].Name)); err != nil {
					return err
				}
			}
		}
		state[i] = 2
		sorted = append(sorted, stacks[i])
		return nil
	}
	for i := range stacks {
		if err := visit(i, nil); err != nil {
			return nil, nil, err
		}
	}
	pos := map[string]int{}
	for i, s := range sorted {
		pos[s.Name] = i
	}
	deps := make([][]int, len(sorted))
	for i, s := range sorted {
		for _, d := range s.DependsOn {
			if j, ok := pos[d]; ok {
				deps[i] = append(deps[i], j)
			}
		}
	}
	return sorted, deps, nil
}

// runOrdered calls work for every stack once the stacks it depends on are
// done, at most jobs at a time. work reports whether the stack succeeded;
// with blockOnFailure, a stack whose dependency failed is handed to skip
// instead. It returns only when ctx ends early.
func runOrdered(ctx context.Context, jobs int, deps [][]int, blockOnFailure bool,
	work func(ctx context.Context, i int) bool, skip func(i, failedDep int)) error {
	done := make([]chan struct{}, len(deps))
	for i := range done {
		done[i] = make(chan struct{})
	}
	ok := make([]bool, len(deps))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i := range deps {
		g.Go(func() error {
			defer close(done[i])
			for _, d := range deps[i] {
				select {
				case <-done[d]:
				case <-gctx.Done():
					return gctx.Err()
				}
				if blockOnFailure && !ok[d] {
					skip(i, d)
					return nil
				}
			}
			if gctx.Err() != nil {
				return gctx.Err()
			}
			ok[i] = work(gctx, i)
			return nil
		})
	}
	return g.Wait()
}
