package benchkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Person is what a browserless sign-in types and ticks.
type Person struct {
	Username, Password string
	// Consents are the consent ids to tick on the consent screen (required ones at least).
	Consents []string
	// Deny presses "Deny" on the consent screen instead of "Allow".
	Deny bool
}

// Browser is a user agent without a browser: a cookie jar, redirects followed up to the
// client's redirect URI, and the login and consent forms filled in as a person would
// (every hidden field, the CSRF token among them, sent back as the page wrote it). The
// end-to-end tests and the sign-in benchmark use it where a real browser would only add
// time.
type Browser struct {
	HTTP *http.Client
	// Pages counts the HTML pages the last SignIn went through (login and consent pages
	// shown), so a caller can tell a session reuse from a password prompt.
	Pages int
}

// NewBrowser returns a Browser with an empty cookie jar.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{HTTP: &http.Client{Jar: jar}}
}

// ErrPage is returned when a page is neither a form we know nor the redirect URI: an
// error page of the platform, whose text it carries.
type ErrPage struct {
	Status int
	URL    string
	Text   string
}

func (e *ErrPage) Error() string {
	return fmt.Sprintf("page %s answered %d: %s", e.URL, e.Status, e.Text)
}

// SignIn starts at authorizeURL and goes through the login and consent pages until the
// platform sends the browser to redirectURI; it returns that URL (with code, state and
// iss, or an error).
func (b *Browser) SignIn(ctx context.Context, authorizeURL, redirectURI string, p Person) (*url.URL, error) {
	b.Pages = 0
	client := *b.HTTP
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURI) || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return nil, err
	}
	for range 8 {
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.HasPrefix(loc, redirectURI) {
			return url.Parse(loc)
		}
		doc, err := html.Parse(strings.NewReader(string(body)))
		if err != nil {
			return nil, err
		}
		form := findForm(doc)
		if form == nil || resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
			return nil, &ErrPage{Status: resp.StatusCode, URL: resp.Request.URL.String(), Text: strings.Join(strings.Fields(text(doc)), " ")}
		}
		b.Pages++
		values := form.values
		switch {
		case form.has("password"):
			if b.Pages > 3 { // the password was refused twice: say why
				return nil, &ErrPage{Status: resp.StatusCode, URL: resp.Request.URL.String(), Text: strings.Join(strings.Fields(text(doc)), " ")}
			}
			values.Set("username", p.Username)
			values.Set("password", p.Password)
		case form.has("decision"):
			values.Del("consent")
			for _, c := range p.Consents {
				values.Add("consent", c)
			}
			values.Set("decision", map[bool]string{false: "allow", true: "deny"}[p.Deny])
		default:
			if !form.hasButton {
				return nil, &ErrPage{Status: resp.StatusCode, URL: resp.Request.URL.String(), Text: strings.Join(strings.Fields(text(doc)), " ")}
			}
		}
		action, err := resp.Request.URL.Parse(form.action)
		if err != nil {
			return nil, err
		}
		method := strings.ToUpper(form.method)
		if method == "" {
			method = http.MethodGet
		}
		if method == http.MethodGet {
			action.RawQuery = values.Encode()
			req, err = http.NewRequestWithContext(ctx, method, action.String(), nil)
		} else {
			req, err = http.NewRequestWithContext(ctx, method, action.String(), strings.NewReader(values.Encode()))
			if req != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errors.New("sign-in did not reach the redirect URI within 8 pages")
}

type form struct {
	action, method string
	values         url.Values
	names          map[string]bool
	hasButton      bool
}

func (f *form) has(name string) bool { return f.names[name] }

// findForm reads the first form of a page: its action, method, and the values a browser
// would send without anyone typing (hidden fields, prefilled inputs, ticked boxes).
func findForm(n *html.Node) *form {
	if n.Type == html.ElementNode && n.Data == "form" {
		f := &form{action: attr(n, "action"), method: attr(n, "method"), values: url.Values{}, names: map[string]bool{}}
		var walk func(*html.Node)
		walk = func(c *html.Node) {
			if c.Type == html.ElementNode && (c.Data == "input" || c.Data == "button") {
				name, typ := attr(c, "name"), strings.ToLower(attr(c, "type"))
				if name != "" {
					f.names[name] = true
				}
				if c.Data == "button" || typ == "submit" {
					f.hasButton = true
				}
				switch {
				case name == "" || c.Data == "button" || typ == "submit":
				case typ == "checkbox" || typ == "radio":
					if hasAttr(c, "checked") {
						f.values.Add(name, attr(c, "value"))
					}
				default:
					f.values.Add(name, attr(c, "value"))
				}
			}
			for k := c.FirstChild; k != nil; k = k.NextSibling {
				walk(k)
			}
		}
		walk(n)
		return f
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findForm(c); f != nil {
			return f
		}
	}
	return nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data + " "
	}
	if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script" || n.Data == "title") {
		return ""
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}
