package templates

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// bundledFS holds the example templates that a store with no templates
// starts with.
//
//go:embed bundled/*.yaml
var bundledFS embed.FS

// Seed loads templates into an empty store: the `<id>.yaml` files of dir
// when it exists and holds any, else the bundled examples. A store that has
// any template is left alone, so edits made through the API survive
// restarts. Every file is validated before anything is written; several
// instances seeding at once write each template once.
func (s *Store) Seed(ctx context.Context, dir, author string) (int, error) {
	empty, err := s.empty(ctx)
	if err != nil {
		return 0, err
	}
	if !empty {
		return 0, nil
	}
	defs, source, err := seedSource(dir)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range sortedKeys(defs) {
		if err := ValidateID(id); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s.yaml: %w", source, id, err))
		} else if _, err := compileChecked(id, defs[id], s.rules); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s.yaml: %w", source, id, err))
		}
	}
	if len(errs) > 0 {
		return 0, fmt.Errorf("templates: seed: %w", errors.Join(errs...))
	}
	loaded := 0
	var rev uint64
	for _, id := range sortedKeys(defs) {
		rec := Record{ID: id, VersionMeta: VersionMeta{Author: author, Note: "seeded from " + source, At: s.clock.Now().UTC()}, Definition: defs[id]}
		n, err := s.createVersion(ctx, rec, 1, true)
		if err != nil {
			return loaded, fmt.Errorf("templates: seed: %w", err)
		}
		if n == 0 {
			continue // another instance is seeding this one
		}
		if rev, err = s.setLive(ctx, id, n, author, true); err != nil {
			return loaded, fmt.Errorf("templates: seed: %w", err)
		}
		loaded++
	}
	if loaded > 0 {
		s.settle(ctx, rev)
	}
	s.log.WithField("source", source).WithField("loaded", loaded).Info("seeded templates")
	return loaded, nil
}

// empty reports whether the bucket holds no key at all.
func (s *Store) empty(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithCancel(ctx) // ends the listing's watch
	defer cancel()
	lister, err := s.records.KV().ListKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("templates: seed: list keys: %w", err)
	}
	empty := true
	for range lister.Keys() {
		empty = false
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("templates: seed: %w", err)
	}
	return empty, nil
}

// seedSource picks where seeding reads from.
func seedSource(dir string) (map[string]Definition, string, error) {
	if dir != "" {
		st, err := os.Stat(dir)
		switch {
		case err == nil && st.IsDir():
			defs, err := LoadDir(dir)
			if err != nil {
				return nil, "", fmt.Errorf("templates: seed from %s: %w", dir, err)
			}
			if len(defs) > 0 {
				return defs, dir, nil
			}
		case err == nil:
			return nil, "", fmt.Errorf("templates: seed: %s is not a directory", dir)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, "", fmt.Errorf("templates: seed: %w", err)
		}
	}
	defs, err := Bundled()
	if err != nil {
		return nil, "", err
	}
	return defs, "bundled templates", nil
}

// Initial returns the templates an empty store is seeded with (see
// Store.Seed): the <id>.yaml files of dir when it has any, else the
// bundled ones; from names where they came from.
func Initial(dir string) (defs map[string]Definition, from string, err error) {
	return seedSource(dir)
}
