package cfn

// Active returns the resources CloudFormation would create for the given
// parameter values: those without a Condition, and those whose condition
// holds. A condition that cannot be worked out offline (it depends on a
// pseudo parameter or a function evaluated at deploy time) counts as true,
// so the resource is shown rather than hidden.
func (t *Template) Active(params map[string]string) map[string]Resource {
	if t == nil {
		return nil
	}
	conds, _ := t.Other["Conditions"].(map[string]any)
	e := &condEval{defs: conds, vals: t.Effective(params), memo: map[string]bool{}, busy: map[string]bool{}}
	out := make(map[string]Resource, len(t.Resources))
	for id, r := range t.Resources {
		if r.Condition == "" || e.condition(r.Condition) {
			out[id] = r
		}
	}
	return out
}

type condEval struct {
	defs map[string]any
	vals map[string]string
	memo map[string]bool
	busy map[string]bool // guards against conditions that refer to each other
}

func (e *condEval) condition(name string) bool {
	if v, ok := e.memo[name]; ok {
		return v
	}
	def, ok := e.defs[name]
	if !ok || e.busy[name] {
		return true
	}
	e.busy[name] = true
	v, known := e.eval(def)
	delete(e.busy, name)
	if !known {
		v = true
	}
	e.memo[name] = v
	return v
}

// eval evaluates a condition expression; known is false when it depends on
// something only CloudFormation knows.
func (e *condEval) eval(expr any) (value, known bool) {
	m, ok := expr.(map[string]any)
	if !ok || len(m) != 1 {
		return false, false
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			return e.condition(name), true
		case "Fn::Not":
			if len(args) != 1 {
				return false, false
			}
			v, k := e.eval(args[0])
			return !v, k
		case "Fn::And", "Fn::Or":
			all, any := true, false
			for _, a := range args {
				v, k := e.eval(a)
				if !k {
					return false, false
				}
				all, any = all && v, any || v
			}
			if fn == "Fn::And" {
				return all, true
			}
			return any, true
		case "Fn::Equals":
			if len(args) != 2 {
				return false, false
			}
			a, ka := e.scalar(args[0])
			b, kb := e.scalar(args[1])
			return a == b, ka && kb
		}
	}
	return false, false
}

// scalar resolves a literal or a Ref to a parameter.
func (e *condEval) scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
			val, known := e.vals[ref]
			return val, known
		}
	case bool, int, float64:
		return Display(x), true
	}
	return "", false
}
