package templates

import (
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/forbear/forbear/internal/ground/domain"
)

// voicemailKind names voicemail texts in parse errors ("voicemail/en-US/body").
const voicemailKind = "voicemail"

// LimitedContentRule is the rule a voicemail text is held to, as problems
// name it.
const LimitedContentRule = "12 CFR 1006.2(j)"

// VoicemailFields are the only template fields a voicemail text may print:
// the salutation of a limited-content message may name the consumer.
var VoicemailFields = []string{".Borrower.Name"}

// compileVoicemail parses and checks the voicemail texts of template id:
// each in a canonical locale, not empty, rendering against Sample, and a
// limited-content message (see limitedContentProblem). A voicemail needs
// voice texts: it is what a call leaves instead of its script. It returns
// the compiled texts (nil without any) and the problems found.
func compileVoicemail(id string, d Definition) (*compiledChannel, []error) {
	if len(d.Voicemail) == 0 {
		return nil, nil
	}
	var errs []error
	add := func(loc, format string, args ...any) {
		errs = append(errs, &ValidationError{Channel: string(domain.Voice), Locale: loc, Voicemail: true, Problem: fmt.Sprintf(format, args...)})
	}
	if len(d.Channels[domain.Voice]) == 0 {
		add("", "a voicemail is left by a call: the template needs voice texts too")
	}
	vm := &compiledChannel{texts: make(map[string]*compiledText, len(d.Voicemail))}
	for _, loc := range sortedKeys(d.Voicemail) {
		body := d.Voicemail[loc]
		if canon, ok := canonicalLocale(loc); !ok {
			add(loc, "locale is not a language tag like en-US or zh-CN")
			continue
		} else if canon != loc {
			add(loc, "locale should be written %s", canon)
			continue
		}
		if strings.TrimSpace(body) == "" {
			add(loc, "body is empty")
			continue
		}
		ct, err := compileText(voicemailKind, loc, Text{Body: body})
		if err != nil {
			add(loc, "%v", err)
			continue
		}
		if p := limitedContentProblem(ct.body); p != "" {
			named := ""
			if id != "" {
				named = fmt.Sprintf("template %q: ", id)
			}
			add(loc, "%suses %s; a voicemail is a limited-content message (%s): besides fixed words (who calls, a number to call back, a request to reply) it may only print %s",
				named, p, LimitedContentRule, strings.Join(VoicemailFields, ", "))
			continue
		}
		if _, text, err := ct.execute(Sample(loc)); err != nil {
			add(loc, "%v", err)
			continue
		} else if strings.TrimSpace(text) == "" {
			add(loc, "body renders empty")
			continue
		}
		vm.texts[loc] = ct
	}
	if len(errs) > 0 {
		return nil, errs
	}
	vm.finish()
	return vm, nil
}

// limitedContentProblem returns the first thing in t that a
// limited-content message (12 CFR 1006.2(j)) may not say, or "".
//
// Such a message holds a business name that does not say it collects
// debts, a request to reply, the name of a person to reply to and a number
// to call; it may add a salutation, the date and time, a generic statement
// that it is about an account, and times to call back. Everything of that
// is fixed wording of the template except the salutation, which may name
// the borrower. Every field that tells about the debt (.Loan, .Case,
// .Agreement, .Step), the whole context ({{.}}), another dot ({{with}},
// {{range}}), variables of its own, helpers and nested templates are
// refused: a text that cannot reach them cannot disclose the debt to
// whoever plays the machine back.
func limitedContentProblem(t *template.Template) string {
	for _, tpl := range t.Templates() {
		if tpl.Tree == nil {
			continue
		}
		if p := nodeProblem(tpl.Tree.Root); p != "" {
			return p
		}
	}
	return ""
}

func nodeProblem(n parse.Node) string {
	switch n := n.(type) {
	case nil:
		return ""
	case *parse.ListNode:
		if n == nil {
			return ""
		}
		for _, c := range n.Nodes {
			if p := nodeProblem(c); p != "" {
				return p
			}
		}
	case *parse.TextNode, *parse.CommentNode:
	case *parse.ActionNode:
		return pipeProblem(n.Pipe)
	case *parse.IfNode:
		return branchProblem(&n.BranchNode, "")
	case *parse.WithNode:
		return branchProblem(&n.BranchNode, "{{with}}")
	case *parse.RangeNode:
		return branchProblem(&n.BranchNode, "{{range}}")
	case *parse.TemplateNode:
		return "{{template}}"
	default:
		return n.String()
	}
	return ""
}

// branchProblem checks an if, with or range: its condition first, then
// the construct itself (refused when it moves the dot), then its lists.
func branchProblem(b *parse.BranchNode, refused string) string {
	if p := pipeProblem(b.Pipe); p != "" {
		return p
	}
	if refused != "" {
		return refused
	}
	if p := nodeProblem(b.List); p != "" {
		return p
	}
	return nodeProblem(b.ElseList)
}

func pipeProblem(p *parse.PipeNode) string {
	if p == nil {
		return ""
	}
	if len(p.Decl) > 0 {
		return p.Decl[0].String()
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			if problem := argProblem(arg); problem != "" {
				return problem
			}
		}
	}
	return ""
}

func argProblem(arg parse.Node) string {
	switch a := arg.(type) {
	case *parse.FieldNode:
		return fieldProblem("." + strings.Join(a.Ident, "."))
	case *parse.VariableNode:
		if len(a.Ident) == 0 || a.Ident[0] != "$" {
			return a.String()
		}
		if len(a.Ident) == 1 {
			return "{{$}}"
		}
		return fieldProblem("." + strings.Join(a.Ident[1:], "."))
	case *parse.DotNode:
		return "{{.}}"
	case *parse.PipeNode:
		return pipeProblem(a)
	case *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		return ""
	case *parse.IdentifierNode:
		return "the function " + a.Ident
	default:
		return arg.String()
	}
}

func fieldProblem(field string) string {
	for _, ok := range VoicemailFields {
		if field == ok {
			return ""
		}
	}
	return field
}
