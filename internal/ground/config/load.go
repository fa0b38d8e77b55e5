package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment override: the key's path in upper case
// joined by '_' (scheduler.sweep -> FORBEAR_SCHEDULER_SWEEP).
const EnvPrefix = "FORBEAR_"

// LoadUnchecked builds the configuration: defaults, then the YAML file (if
// path is not empty), then FORBEAR_* variables from environ. It checks no
// section: internal/roof/app.LoadConfig loads and checks everything, and a
// caller that applies flags afterwards (flags beat env beat file) checks
// the result with internal/roof/app.CheckConfig.
func LoadUnchecked(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func decodeYAML(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) == nil {
			if bad := badText(&doc, reflect.TypeFor[Config](), ""); bad != nil {
				return bad
			}
		}
		return err
	}
	// YAML merges maps into the defaults; caps given in the file replace
	// them instead, so "caps: {}" means no limits (spec §2).
	var probe struct {
		Compliance struct {
			Caps *map[string]Cap `yaml:"caps"`
		} `yaml:"compliance"`
	}
	if err := yaml.Unmarshal(data, &probe); err == nil && probe.Compliance.Caps != nil {
		cfg.Compliance.Caps = *probe.Compliance.Caps
	}
	return nil
}

// badText finds the key whose value a text unmarshaler (a duration, an
// age) refused, which YAML reports without the key: it walks the document
// beside the fields of t and parses each such value again. nil when none
// is refused.
func badText(node *yaml.Node, t reflect.Type, key string) error {
	join := func(name string) string {
		if key == "" {
			return name
		}
		return key + "." + name
	}
	switch {
	case node.Kind == yaml.DocumentNode:
		for _, c := range node.Content {
			if err := badText(c, t, key); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Pointer:
		return badText(node, t.Elem(), key)
	case reflect.PointerTo(t).Implements(textUnmarshaler):
		if node.Kind != yaml.ScalarNode {
			return nil
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(node.Value)); err != nil {
			return fmt.Errorf("%s (line %d): %w", key, node.Line, err)
		}
	case node.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		for i := 0; i+1 < len(node.Content); i += 2 {
			name := node.Content[i].Value
			for j := 0; j < t.NumField(); j++ {
				if strings.Split(t.Field(j).Tag.Get("yaml"), ",")[0] == name {
					if err := badText(node.Content[i+1], t.Field(j).Type, join(name)); err != nil {
						return err
					}
				}
			}
		}
	case node.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(node.Content); i += 2 {
			if err := badText(node.Content[i+1], t.Elem(), join(node.Content[i].Value)); err != nil {
				return err
			}
		}
	case node.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range node.Content {
			if err := badText(c, t.Elem(), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyEnv sets every scalar key that has a FORBEAR_* variable.
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[strings.TrimPrefix(k, EnvPrefix)] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	return walk(reflect.ValueOf(cfg).Elem(), "", "", func(v reflect.Value, envName, key string) error {
		val, ok := env[envName]
		if !ok {
			return nil
		}
		if err := setScalar(v, val); err != nil {
			return fmt.Errorf("config: %s%s (%s): %w", EnvPrefix, envName, key, err)
		}
		return nil
	})
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func walk(v reflect.Value, envName, key string, fn func(reflect.Value, string, string) error) error {
	if v.Kind() == reflect.Struct && !reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			e, k := strings.ToUpper(tag), tag
			if envName != "" {
				e, k = envName+"_"+e, key+"."+tag
			}
			if err := walk(v.Field(i), e, k, fn); err != nil {
				return err
			}
		}
		return nil
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		return fn(v, envName, key) // a value read from text (a list such as Presets)
	}
	switch v.Kind() {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Float64, reflect.Bool:
		return fn(v, envName, key)
	}
	return nil
}

func setScalar(v reflect.Value, s string) error {
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", s)
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", s)
		}
		v.SetBool(b)
	}
	return nil
}
