package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
)

// Bounds of a dry run asked for over the API: it runs inside a request.
const (
	MaxRequestDays      = 366
	MaxRequestBorrowers = 10_000
	MaxSample           = 1_000
)

// LiveState draws borrowers from the live state, as they stand, for a dry
// run: their loans, agreements and suppressions in force.
type LiveState interface {
	SampleBorrowers(ctx context.Context, n int) ([]Borrower, error)
}

// Service runs the dry runs a running instance is asked for: with its
// configuration, its live templates and, for samples, its live state.
type Service struct {
	Config    config.Config
	Templates Renderer
	// Live samples the live state; nil refuses samples.
	Live  LiveState
	Clock clock.Clock

	// running lets one dry run at a time use the instance's cores: a run
	// takes every core it gets, and the delivery path shares them.
	running sync.Mutex
}

// ErrBusy is a dry run asked for while another runs on the instance.
var ErrBusy = errors.New("a dry run is already running on this instance; try again when it has finished")

// Request is the body of POST /v1/simulate. Exactly one of Population,
// Generate and Sample says who is simulated.
type Request struct {
	// Days is how many days to simulate (1 to MaxRequestDays; default 30).
	Days int `json:"days"`
	// Start is the first day, YYYY-MM-DD in scheduler.timezone (default
	// today).
	Start string `json:"start"`
	// Population is a population in its JSON form (an object), or the
	// text of a population CSV file (a string).
	Population json.RawMessage `json:"population"`
	// Generate makes up a population.
	Generate *GenerateRequest `json:"generate"`
	// Sample draws this many borrowers from the live state.
	Sample int `json:"sample"`
	// Variant is a change to compare with (see Variant).
	Variant json.RawMessage `json:"variant"`
	// Borrowers are the borrowers whose schedules to return (default the
	// first 5).
	Borrowers []string `json:"borrowers"`
	// CallAnswered is the share of calls that connect (0 to 1).
	CallAnswered float64 `json:"call_answered"`
	// Charts asks for the charts, as SVG documents, in the answer.
	Charts bool `json:"charts"`
}

// GenerateRequest makes up a population (see Generated).
type GenerateRequest struct {
	Borrowers int    `json:"borrowers"`
	Seed      uint64 `json:"seed"`
}

// Answer is a dry run's answer over the API: the report, and the charts
// when asked for (name to SVG document).
type Answer struct {
	Report
	Charts map[string]string `json:"charts,omitempty"`
}

// RequestError is a request that cannot be run, naming the field at fault
// ("days", "population.borrowers[2].phone", "variant.compliance.preset").
type RequestError struct {
	Field   string
	Message string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Message }

func bad(field, format string, args ...any) error {
	return &RequestError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Do checks and runs a request, its variant read from req.Variant. Bad
// input is a *RequestError.
func (s *Service) Do(ctx context.Context, req Request) (Answer, error) {
	var v *Variant
	if len(req.Variant) > 0 && string(req.Variant) != "null" {
		dv, err := decodeVariant(req.Variant)
		if err != nil {
			return Answer{}, err
		}
		v = &dv
	}
	return s.Run(ctx, req, v)
}

// Run checks and runs a request with variant v (nil: none), whatever
// req.Variant says. Bad input is a *RequestError.
func (s *Service) Run(ctx context.Context, req Request, v *Variant) (Answer, error) {
	base, err := NewSetup("live", s.Config, s.Templates)
	if err != nil {
		return Answer{}, err
	}
	if req.Days == 0 {
		req.Days = 30
	}
	if req.Days < 1 || req.Days > MaxRequestDays {
		return Answer{}, bad("days", "must be 1 to %d, got %d", MaxRequestDays, req.Days)
	}
	if req.CallAnswered < 0 || req.CallAnswered > 1 {
		return Answer{}, bad("call_answered", "must be 0 to 1, got %v", req.CallAnswered)
	}
	if len(req.Borrowers) > MaxKeep {
		return Answer{}, bad("borrowers", "at most %d schedules, got %d", MaxKeep, len(req.Borrowers))
	}
	now := time.Now()
	if s.Clock != nil {
		now = s.Clock.Now()
	}
	start := now.In(base.Zone)
	if req.Start != "" {
		if start, err = time.ParseInLocation(time.DateOnly, req.Start, base.Zone); err != nil {
			return Answer{}, bad("start", "must be YYYY-MM-DD, got %q", req.Start)
		}
	}
	var variant *Setup
	if v != nil {
		vs, err := v.Apply(s.Config, s.Templates)
		if err != nil {
			return Answer{}, variantError(err)
		}
		variant = &vs
	}
	src, err := s.source(ctx, req, start)
	if err != nil {
		return Answer{}, err
	}
	if !s.running.TryLock() {
		return Answer{}, ErrBusy
	}
	defer s.running.Unlock()
	rep, err := Simulate(ctx, base, variant, src, Options{Start: start, Days: req.Days, Keep: req.Borrowers, CallAnswered: req.CallAnswered})
	if err != nil {
		return Answer{}, err
	}
	ans := Answer{Report: rep}
	if req.Charts {
		charts, err := rep.Charts()
		if err != nil {
			return Answer{}, err
		}
		ans.Charts = map[string]string{}
		for name, p := range charts {
			svg, err := Encode(p, FormatSVG)
			if err != nil {
				return Answer{}, err
			}
			ans.Charts[name] = string(svg)
		}
	}
	return ans, nil
}

// source is the population a request names.
func (s *Service) source(ctx context.Context, req Request, start time.Time) (Source, error) {
	given := 0
	if len(req.Population) > 0 && string(req.Population) != "null" {
		given++
	}
	if req.Generate != nil {
		given++
	}
	if req.Sample != 0 {
		given++
	}
	if given != 1 {
		return nil, bad("population", "give exactly one of population, generate and sample")
	}
	switch {
	case req.Generate != nil:
		if n := req.Generate.Borrowers; n < 1 || n > MaxRequestBorrowers {
			return nil, bad("generate.borrowers", "must be 1 to %d, got %d", MaxRequestBorrowers, n)
		}
		return Generated{N: req.Generate.Borrowers, Seed: req.Generate.Seed, Start: start}, nil
	case req.Sample != 0:
		if req.Sample < 1 || req.Sample > MaxSample {
			return nil, bad("sample", "must be 1 to %d, got %d", MaxSample, req.Sample)
		}
		if s.Live == nil {
			return nil, bad("sample", "this instance has no live state to sample")
		}
		bs, err := s.Live.SampleBorrowers(ctx, req.Sample)
		if err != nil {
			return nil, err
		}
		if len(bs) == 0 {
			return nil, bad("sample", "the live state has no borrower with a loan")
		}
		return Population{Borrowers: bs}, nil
	}
	p, err := requestPopulation(req.Population)
	var pe *PopulationError
	if errors.As(err, &pe) {
		field := "population"
		if f := pe.Path(); f != "" {
			field += "." + f
		}
		return nil, bad(field, "%s", pe.Message)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// requestPopulation reads a request's population: its JSON form, or the
// text of a CSV file as a JSON string; at most MaxRequestBorrowers.
func requestPopulation(raw json.RawMessage) (Population, error) {
	trimmed := bytes.TrimSpace(raw)
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		return parseJSON(trimmed, MaxRequestBorrowers)
	case bytes.HasPrefix(trimmed, []byte(`"`)):
		var text string
		if err := json.Unmarshal(trimmed, &text); err != nil {
			return Population{}, &PopulationError{Message: "not a JSON string: " + err.Error()}
		}
		return parseCSV(strings.NewReader(text), MaxRequestBorrowers)
	}
	return Population{}, &PopulationError{Message: "must be an object with borrowers, or the text of a CSV file"}
}

// decodeVariant reads a variant's JSON, which is YAML too: with the
// configuration's own decoding (durations such as "7d", strict keys).
func decodeVariant(raw json.RawMessage) (Variant, error) {
	var v Variant
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&v); err != nil {
		return Variant{}, bad("variant", "%v", err)
	}
	return v, nil
}

// variantError names the key of a variant that Apply refused: its errors
// start with the key ("compliance.preset: ...", "policies[0].steps[1].every:
// ...", "templates.overdue: ...").
func variantError(err error) error {
	msg := err.Error()
	if key, rest, ok := strings.Cut(msg, ": "); ok && key != "" && !strings.ContainsAny(key, " \n") {
		return bad("variant."+key, "%s", rest)
	}
	return bad("variant", "%s", msg)
}
