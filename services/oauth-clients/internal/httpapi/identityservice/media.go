package identityservice

import (
	"mime"

	"github.com/labstack/echo/v4"
)

// MediaType is JSON:API's media type, the one the Identity Service's bodies have.
const MediaType = "application/vnd.api+json"

// JSONAPIBodies lets the generated handlers decode a JSON:API body: echo's binder decodes
// only application/json, so a request the validator has accepted as application/vnd.api+json
// is handed on as the JSON it is. It runs after the validator, which has checked the
// body against the dialect's spec under its own media type.
func JSONAPIBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if t, _, err := mime.ParseMediaType(h.Get(echo.HeaderContentType)); err == nil && t == MediaType {
			h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		}
		return next(c)
	}
}
