package conformance

import (
	"regexp"
	"strings"
	"testing"
)

// TestPathHelpLayout: `vault path-help nomad/<path>` prints data.help. Every
// path answers in the layout of Vault's Go framework (framework.Path help):
// the request, the matching route in RE2 syntax, the synopsis, the
// parameters, and the description; the root lists every route.
func TestPathHelpLayout(t *testing.T) {
	logger, _ := newTestLogger(t)
	c := newCatalog(t, logger)
	m := newMount(t, c, logger, nil)

	cases := []struct {
		path   string
		route  string
		params []string
	}{
		{"config/access", `^config/access$`, []string{"address (string)", "token (string)", "max_token_name_length (int)", "client_key (string)"}},
		{"config/lease", `^config/lease$`, []string{"ttl (duration (sec))", "max_ttl (duration (sec))"}},
		{"config/rotate-root", `^config/rotate-root$`, nil},
		{"role/", `^role/?$`, nil},
		{"role/dispatch", `^role/(?P<name>\w(([\w.-]+)?\w)?)$`, []string{"policies (slice)", "global (bool)", "type (string)"}},
		{"creds/dispatch", `^creds/(?P<name>\w(([\w.-]+)?\w)?)$`, []string{"name (string)"}},
	}
	for _, tc := range cases {
		resp := mustHandle(t, m, opHelp, tc.path, nil)
		if resp == nil {
			t.Errorf("help %s: no response", tc.path)
			continue
		}
		help, _ := resp.Data["help"].(string)
		head := "Request:        " + tc.path + "\nMatching Route: " + tc.route + "\n\n"
		if !strings.HasPrefix(help, head) {
			t.Errorf("help %s: starts %q, want %q", tc.path, firstLines(help, 3), head)
		}
		if !strings.Contains(help, "\n## DESCRIPTION\n\n") {
			t.Errorf("help %s: no ## DESCRIPTION section", tc.path)
		}
		if len(tc.params) > 0 && !strings.Contains(help, "\n## PARAMETERS\n\n") {
			t.Errorf("help %s: no ## PARAMETERS section", tc.path)
		}
		for _, param := range tc.params {
			// Vault: four spaces, name and type, a blank line, the description indented by eight.
			if !regexp.MustCompile(`\n    ` + regexp.QuoteMeta(param) + `\n\n        \S`).MatchString(help) {
				t.Errorf("help %s: parameter %q not in Vault's layout", tc.path, param)
			}
		}
		if _, ok := resp.Data["openapi"].(map[string]interface{}); !ok {
			t.Errorf("help %s: data.openapi = %T, want an object", tc.path, resp.Data["openapi"])
		}
	}

	root := mustHandle(t, m, opHelp, "", nil)
	text, _ := root.Data["help"].(string)
	if !strings.HasPrefix(text, "## DESCRIPTION\n\n") || !strings.Contains(text, "\n## PATHS\n\n") {
		t.Errorf("root help: want ## DESCRIPTION then ## PATHS, got %q", firstLines(text, 4))
	}
	for _, tc := range cases {
		if !strings.Contains(text, "\n    "+tc.route+"\n        ") {
			t.Errorf("root help: route %s not listed with its synopsis", tc.route)
		}
	}
}

func firstLines(text string, n int) string {
	lines := strings.SplitN(text, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
