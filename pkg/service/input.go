package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/errs"
)

// cleanInput refuses, with a 400 naming the field, text no service can store or compare
// safely: a NUL character (PostgreSQL's text type cannot hold one; it used to surface as
// a 500 from the database) or bytes that are not UTF-8, anywhere in the path, the query,
// a form body or a JSON body; and JSON objects with two keys that differ only in case
// ({"version": 1, "Version": 7}: Go's decoder takes either, so a validator and the
// handler could read different values). One check for every route of every service, in
// front of validation, so no handler has to remember it.
func cleanInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		var bad []errs.FieldError
		if !cleanText(req.URL.Path) {
			bad = append(bad, errs.FieldError{Field: "path", Message: "contains a NUL character or invalid UTF-8"})
		}
		bad = append(bad, checkValues("query", req.URL.Query())...)
		if req.Body != nil && req.Body != http.NoBody {
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return err // the body limit's 413, or a broken connection
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			bad = append(bad, checkBody(req.Header.Get(echo.HeaderContentType), body)...)
		}
		if len(bad) == 0 {
			return next(c)
		}
		if strings.Contains(req.URL.Path, "/oauth2/") {
			// RFC 6749 §5.2: the OAuth endpoints answer with their own error object.
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "invalid_request",
				"error_description": fmt.Sprintf("%s %s", bad[0].Field, bad[0].Message)})
		}
		return &errs.Error{Kind: errs.BadRequest, Detail: "the request contains text that is not allowed", Fields: bad}
	}
}

func cleanText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func checkValues(where string, values url.Values) []errs.FieldError {
	var bad []errs.FieldError
	for name, vs := range values {
		for _, v := range vs {
			if !cleanText(name) || !cleanText(v) {
				bad = append(bad, errs.FieldError{Field: where + "." + strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", ""), "?"),
					Message: "contains a NUL character or invalid UTF-8"})
				break
			}
		}
	}
	return bad
}

func checkBody(contentType string, body []byte) []errs.FieldError {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mediaType == "application/x-www-form-urlencoded":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil // the handler answers a malformed form as it always did
		}
		return checkValues("body", values)
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
			// The decoder would replace invalid bytes silently; refuse them as sent.
			return []errs.FieldError{{Field: "body", Message: "is not valid UTF-8 JSON text"}}
		}
		return checkJSON(body)
	}
	return nil
}

// checkJSON walks a JSON document's tokens, naming the first string holding a NUL (the
// \u0000 escape) and every object with keys that differ only in case.
func checkJSON(body []byte) []errs.FieldError {
	dec := json.NewDecoder(bytes.NewReader(body))
	var bad []errs.FieldError
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case string:
			if strings.IndexByte(t, 0) >= 0 {
				bad = append(bad, errs.FieldError{Field: path, Message: "contains a NUL character"})
			}
		case json.Delim:
			switch t {
			case '{':
				seen := map[string]string{}
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return err
					}
					key, _ := kt.(string)
					if strings.IndexByte(key, 0) >= 0 {
						bad = append(bad, errs.FieldError{Field: path, Message: "has a key with a NUL character"})
					}
					// Folded as Go's decoder matches keys (Unicode simple folding: "ſ" is
					// "s", the Kelvin sign "k"), not just lower-cased.
					folded := strings.ToLower(strings.ToUpper(key))
					if other, dup := seen[folded]; dup {
						bad = append(bad, errs.FieldError{Field: path + "." + key,
							Message: fmt.Sprintf("repeats the key %q (keys are matched regardless of case)", other)})
					}
					seen[folded] = key
					if err := walk(path + "." + key); err != nil {
						return err
					}
				}
				_, err = dec.Token() // '}'
				return err
			case '[':
				for i := 0; dec.More(); i++ {
					if err := walk(fmt.Sprintf("%s.%d", path, i)); err != nil {
						return err
					}
				}
				_, err = dec.Token() // ']'
				return err
			}
		}
		return nil
	}
	if err := walk("body"); err != nil && !errors.Is(err, io.EOF) {
		return nil // malformed JSON is the validator's to report
	}
	return bad
}
