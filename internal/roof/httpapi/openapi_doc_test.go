package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/roof/httpapi"
)

// apiDoc is the OpenAPI description as the tests read it: plain JSON
// values, with the few look-ups the checks need.
type apiDoc struct {
	root map[string]any
}

// operation is one method of one path of the description.
type operation struct {
	method string // upper case, as net/http spells it
	path   string
	op     map[string]any
}

func (o operation) key() string { return o.method + " " + o.path }

var docMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func loadDoc(t *testing.T) *apiDoc {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI, &root); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return &apiDoc{root: root}
}

// operations lists every operation, sorted by path then method.
func (d *apiDoc) operations() []operation {
	paths, _ := d.root["paths"].(map[string]any)
	var ops []operation
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range docMethods {
			if op, ok := item[m].(map[string]any); ok {
				ops = append(ops, operation{method: strings.ToUpper(m), path: path, op: op})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].key() < ops[j].key() })
	return ops
}

// resolve follows a local reference ("#/components/schemas/Error").
func (d *apiDoc) resolve(ref string) (any, error) {
	pointer, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("%s: only references inside the document are used", ref)
	}
	var node any = d.root
	for _, part := range strings.Split(pointer, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %q is not inside an object", ref, part)
		}
		if node, ok = m[part]; !ok {
			return nil, fmt.Errorf("%s: no %q", ref, part)
		}
	}
	return node, nil
}

// deref returns node, or what it refers to when it is a {"$ref"} object.
func (d *apiDoc) deref(t *testing.T, node any) map[string]any {
	t.Helper()
	m, _ := node.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		target, err := d.resolve(ref)
		if err != nil {
			t.Fatal(err)
		}
		m, _ = target.(map[string]any)
	}
	return m
}

// refs lists every "$ref" value in the document, with where it is.
func (d *apiDoc) refs() map[string]string {
	out := map[string]string{}
	var walk func(at string, node any)
	walk = func(at string, node any) {
		switch n := node.(type) {
		case map[string]any:
			for k, v := range n {
				if s, ok := v.(string); ok && k == "$ref" {
					out[at] = s
					continue
				}
				walk(at+"/"+k, v)
			}
		case []any:
			for i, v := range n {
				walk(at+"/"+strconv.Itoa(i), v)
			}
		}
	}
	walk("#", d.root)
	return out
}

// parameters are an operation's parameters, references resolved, with
// the path item's own.
func (d *apiDoc) parameters(t *testing.T, o operation) []map[string]any {
	t.Helper()
	var out []map[string]any
	item, _ := d.root["paths"].(map[string]any)[o.path].(map[string]any)
	for _, list := range []any{item["parameters"], o.op["parameters"]} {
		params, _ := list.([]any)
		for _, p := range params {
			out = append(out, d.deref(t, p))
		}
	}
	return out
}

// stringList returns a JSON array of strings as a sorted Go slice (nil when
// node is not such an array).
func stringList(node any) []string {
	list, ok := node.([]any)
	if !ok {
		return nil
	}
	out := []string{}
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// securitySchemes names the schemes an operation accepts (empty: none).
func securitySchemes(o operation) []string {
	out := []string{}
	reqs, _ := o.op["security"].([]any)
	for _, r := range reqs {
		for name := range r.(map[string]any) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// pathParams are the {names} of a path, in order.
func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			out = append(out, strings.TrimSuffix(name, "}"))
		}
	}
	return out
}

// fill puts values in a path's {names}.
func fill(path string, values map[string]string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			v, found := values[strings.TrimSuffix(name, "}")]
			if !found {
				v = "x"
			}
			segs[i] = url.PathEscape(v)
		}
	}
	return strings.Join(segs, "/")
}

// operationFor finds the operation that describes a request: the path
// whose segments match, literal segments before parameters.
func (d *apiDoc) operationFor(method, requestPath string) (operation, bool) {
	var best operation
	bestParams := -1
	got := strings.Split(requestPath, "/")
	for _, o := range d.operations() {
		if o.method != method {
			continue
		}
		want := strings.Split(o.path, "/")
		if len(want) != len(got) {
			continue
		}
		params, match := 0, true
		for i := range want {
			if strings.HasPrefix(want[i], "{") {
				params++
			} else if want[i] != got[i] {
				match = false
				break
			}
		}
		if match && (bestParams < 0 || params < bestParams) {
			best, bestParams = o, params
		}
	}
	return best, bestParams >= 0
}

// checkAnswer checks an answer against the description of its request:
// the status is documented, the content type is one documented for it,
// and a JSON body has the documented shape. It returns what differs.
func (d *apiDoc) checkAnswer(t *testing.T, method, requestPath string, r response) []string {
	t.Helper()
	o, ok := d.operationFor(method, requestPath)
	if !ok {
		return []string{fmt.Sprintf("%s %s is not described", method, requestPath)}
	}
	responses, _ := o.op["responses"].(map[string]any)
	desc, ok := responses[strconv.Itoa(r.status)]
	if !ok {
		return []string{fmt.Sprintf("%s: status %d is not documented (body %.200s)", o.key(), r.status, r.body)}
	}
	content, _ := d.deref(t, desc)["content"].(map[string]any)
	if len(content) == 0 {
		if len(r.body) > 0 {
			return []string{fmt.Sprintf("%s %d: documented without a body, answered %.200s", o.key(), r.status, r.body)}
		}
		return nil
	}
	mediaType, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	media, ok := content[mediaType].(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s %d: Content-Type %q is not documented", o.key(), r.status, mediaType)}
	}
	if mediaType != "application/json" {
		return nil
	}
	var body any
	if err := json.Unmarshal(r.body, &body); err != nil {
		return []string{fmt.Sprintf("%s %d: body is not JSON: %v", o.key(), r.status, err)}
	}
	var problems []string
	for _, p := range d.validate(media["schema"], body, "body") {
		problems = append(problems, fmt.Sprintf("%s %d: %s (body %.300s)", o.key(), r.status, p, bytes.TrimSpace(r.body)))
	}
	return problems
}

// validate checks v against a schema, for the parts of JSON Schema the
// description uses: $ref, allOf, anyOf, oneOf, type, const, enum,
// required, properties, additionalProperties, items.
func (d *apiDoc) validate(schemaNode, v any, at string) []string {
	schema, ok := schemaNode.(map[string]any)
	if !ok {
		return nil // no schema: anything goes
	}
	if ref, ok := schema["$ref"].(string); ok {
		target, err := d.resolve(ref)
		if err != nil {
			return []string{err.Error()}
		}
		if problems := d.validate(target, v, at); len(problems) > 0 {
			return problems
		}
	}
	var problems []string
	for _, sub := range anyList(schema["allOf"]) {
		problems = append(problems, d.validate(sub, v, at)...)
	}
	if subs := anyList(schema["anyOf"]); len(subs) > 0 && d.matching(subs, v, at) == 0 {
		problems = append(problems, at+": matches none of anyOf")
	}
	if subs := anyList(schema["oneOf"]); len(subs) > 0 {
		if n := d.matching(subs, v, at); n != 1 {
			problems = append(problems, fmt.Sprintf("%s: matches %d of oneOf, want 1", at, n))
		}
	}
	if types := typeList(schema["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		return append(problems, fmt.Sprintf("%s: is %s, want %s", at, jsonType(v), strings.Join(types, " or ")))
	}
	if c, ok := schema["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		problems = append(problems, fmt.Sprintf("%s: is %v, want %v", at, v, c))
	}
	if enum := anyList(schema["enum"]); len(enum) > 0 && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		problems = append(problems, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, name := range stringList(schema["required"]) {
			if _, ok := v[name]; !ok {
				problems = append(problems, fmt.Sprintf("%s: lacks required %q", at, name))
			}
		}
		for name, value := range v {
			if sub, ok := props[name]; ok {
				problems = append(problems, d.validate(sub, value, at+"."+name)...)
				continue
			}
			switch extra := schema["additionalProperties"].(type) {
			case bool:
				if !extra {
					problems = append(problems, fmt.Sprintf("%s: has %q, which is not described", at, name))
				}
			case map[string]any:
				problems = append(problems, d.validate(extra, value, at+"."+name)...)
			}
		}
	case []any:
		if items, ok := schema["items"]; ok {
			for i, item := range v {
				problems = append(problems, d.validate(items, item, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return problems
}

func (d *apiDoc) matching(subs []any, v any, at string) int {
	n := 0
	for _, sub := range subs {
		if len(d.validate(sub, v, at)) == 0 {
			n++
		}
	}
	return n
}

func anyList(node any) []any {
	list, _ := node.([]any)
	return list
}

func typeList(node any) []string {
	switch t := node.(type) {
	case string:
		return []string{t}
	case []any:
		return stringList(t)
	}
	return nil
}

// jsonType is the JSON Schema type of a decoded JSON value.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
