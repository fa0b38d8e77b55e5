package simulate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ParseJSON reads the JSON form of a population (see Population); unknown
// keys are refused, naming them.
func ParseJSON(data []byte) (Population, error) {
	return parseJSON(data, MaxBorrowers)
}

// parseJSON is ParseJSON taking at most limit borrowers, counted before
// any is checked.
func parseJSON(data []byte, limit int) (Population, error) {
	var top struct {
		Borrowers []json.RawMessage `json:"borrowers"`
	}
	if err := strictJSON(data, &top); err != nil {
		return Population{}, jsonError("", data, err)
	}
	if len(top.Borrowers) > limit {
		return Population{}, &PopulationError{Field: "borrowers", Message: fmt.Sprintf("has %d borrowers, more than the %d one run takes", len(top.Borrowers), limit)}
	}
	p := Population{Borrowers: make([]Borrower, len(top.Borrowers))}
	for i, raw := range top.Borrowers {
		if err := strictJSON(raw, &p.Borrowers[i]); err != nil {
			return Population{}, jsonError(fmt.Sprintf("borrowers[%d]", i), raw, err)
		}
	}
	return p, p.Validate()
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// jsonError names where a decoding error of raw (at path) is: an unknown
// key is looked for in raw and in its lists of objects.
func jsonError(path string, raw []byte, err error) error {
	join := func(field string) string {
		if path == "" {
			return field
		}
		return path + "." + field
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &PopulationError{Field: join(te.Field), Message: "has the wrong type (" + te.Value + ")"}
	}
	name, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return &PopulationError{Field: path, Message: "not JSON: " + err.Error()}
	}
	name = strings.Trim(name, `"`)
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		if _, top := obj[name]; !top {
			for _, list := range []string{"loans", "agreements", "mutes", "consents"} {
				var items []map[string]json.RawMessage
				if json.Unmarshal(obj[list], &items) != nil {
					continue
				}
				for j, item := range items {
					if _, in := item[name]; in {
						return &PopulationError{Field: join(fmt.Sprintf("%s[%d].%s", list, j, name)), Message: "unknown key"}
					}
				}
			}
		}
	}
	return &PopulationError{Field: join(name), Message: "unknown key"}
}
