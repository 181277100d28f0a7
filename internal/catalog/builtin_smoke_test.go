package catalog

import "testing"

func TestSmoke(t *testing.T) {
	for _, id := range []string{"exact-globe-mail", "exact-synergy-mail", "exact-synergy-calendar", "exact-elis-mail", "exact-elis-exchange-sync", "afas-profit-exchange", "resourcexpress-ews", "resourcexpress-graph", "ibm-app-connect-exchange"} {
		data, _ := builtinFS.ReadFile("builtin/" + id + ".yaml")
		if _, err := Parse(data); err != nil {
			t.Errorf("%s:\n%v", id, err)
		}
	}
	if _, err := Parse(customTemplate); err != nil {
		t.Errorf("template:\n%v", err)
	}
}
