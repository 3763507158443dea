// Package localize picks one language from localized text (Emporix's name and description
// maps), the same way in every service.
package localize

import (
	"slices"
	"strings"
)

// Pick chooses the text for an Accept-Language header: the first language it lists (in
// the order written) that the map has, also by its base language (de-CH -> de), else
// English, else the first language alphabetically, so the answer is stable.
func Pick(m map[string]string, acceptLanguage string) string {
	if len(m) == 0 {
		return ""
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		lang := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		if v, ok := m[lang]; ok && lang != "" {
			return v
		}
		if base, _, ok := strings.Cut(lang, "-"); ok {
			if v, ok := m[base]; ok {
				return v
			}
		}
	}
	if v, ok := m["en"]; ok {
		return v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return m[keys[0]]
}
