package pages

// common are the texts of the layout and the error page, which every page set shares.
var common = Catalog{
	"en": {
		"common.back":        "Back",
		"error.title":        "Something went wrong",
		"error.invalid_link": "This sign-in link is invalid or has expired. Go back to the application and start again.",
		"error.used_link":    "This sign-in link has already been used. Go back to the application and start again.",
		"error.csrf":         "The form has expired or did not come from this page. Reload the page and try again.",
		"error.unavailable":  "The service is briefly unavailable. Try again in a moment.",
		"error.bad_request":  "The request is not valid: %s",
	},
	"de": {
		"common.back":        "Zurück",
		"error.title":        "Etwas ist schiefgelaufen",
		"error.invalid_link": "Dieser Anmeldelink ist ungültig oder abgelaufen. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.",
		"error.used_link":    "Dieser Anmeldelink wurde bereits verwendet. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.",
		"error.csrf":         "Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Laden Sie die Seite neu und versuchen Sie es erneut.",
		"error.unavailable":  "Der Dienst ist kurzzeitig nicht erreichbar. Versuchen Sie es gleich noch einmal.",
		"error.bad_request":  "Die Anfrage ist ungültig: %s",
	},
	"nb": {
		"common.back":        "Tilbake",
		"error.title":        "Noe gikk galt",
		"error.invalid_link": "Denne innloggingslenken er ugyldig eller utløpt. Gå tilbake til applikasjonen og start på nytt.",
		"error.used_link":    "Denne innloggingslenken er allerede brukt. Gå tilbake til applikasjonen og start på nytt.",
		"error.csrf":         "Skjemaet er utløpt eller kom ikke fra denne siden. Last inn siden på nytt og prøv igjen.",
		"error.unavailable":  "Tjenesten er midlertidig utilgjengelig. Prøv igjen om litt.",
		"error.bad_request":  "Forespørselen er ugyldig: %s",
	},
}
