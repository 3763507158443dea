// Package pages holds iam-subjects' browser pages (sign-in, sign-out) and their texts in
// every language the platform speaks; pkg/pages renders them inside the shared layout.
package pages

import (
	"embed"

	"github.com/iamplane/iam/pkg/pages"
)

//go:embed *.html
var templates embed.FS

// New parses the pages with their texts.
func New() (*pages.Renderer, error) { return pages.New(templates, texts()) }

// texts are the pages' texts; every key exists in every language (pages.New checks).
func texts() pages.Catalog {
	return pages.Catalog{
		"en": {
			"login.title":           "Sign in",
			"login.to_client":       "to continue to %s",
			"login.username":        "Username or email",
			"login.password":        "Password",
			"login.submit":          "Sign in",
			"login.wrong":           "Wrong username or password.",
			"login.no_password":     "Never set a password? Ask your administrator to set one for you.",
			"login.wait":            "Too many failed attempts. Wait %d seconds, then try again.",
			"login.locked_title":    "Account locked",
			"login.locked":          "Your account is locked. Contact your administrator to unlock it.",
			"logout.title":          "Sign out",
			"logout.confirm":        "Do you want to sign out?",
			"logout.confirm_client": "The application %s asks to sign you out. Do you want to sign out?",
			"logout.submit":         "Sign out",
			"logout.stay":           "To stay signed in, close this page.",
			"logout.done_title":     "Signed out",
			"logout.done":           "You are signed out. You may close this page.",
			"logout.invalid_link":   "This sign-out link is invalid or has expired. Go back to the application and sign out again.",
			"logout.used_link":      "This sign-out link has already been used.",
			"error.not_found":       "This page does not exist.",
		},
		"de": {
			"login.title":           "Anmelden",
			"login.to_client":       "um mit %s fortzufahren",
			"login.username":        "Benutzername oder E-Mail",
			"login.password":        "Passwort",
			"login.submit":          "Anmelden",
			"login.wrong":           "Benutzername oder Passwort ist falsch.",
			"login.no_password":     "Noch nie ein Passwort festgelegt? Bitten Sie Ihre Administration, eines für Sie festzulegen.",
			"login.wait":            "Zu viele fehlgeschlagene Versuche. Warten Sie %d Sekunden und versuchen Sie es dann erneut.",
			"login.locked_title":    "Konto gesperrt",
			"login.locked":          "Ihr Konto ist gesperrt. Wenden Sie sich an Ihre Administration, um es entsperren zu lassen.",
			"logout.title":          "Abmelden",
			"logout.confirm":        "Möchten Sie sich abmelden?",
			"logout.confirm_client": "Die Anwendung %s möchte Sie abmelden. Möchten Sie sich abmelden?",
			"logout.submit":         "Abmelden",
			"logout.stay":           "Um angemeldet zu bleiben, schließen Sie diese Seite.",
			"logout.done_title":     "Abgemeldet",
			"logout.done":           "Sie sind abgemeldet. Sie können diese Seite schließen.",
			"logout.invalid_link":   "Dieser Abmeldelink ist ungültig oder abgelaufen. Kehren Sie zur Anwendung zurück und melden Sie sich erneut ab.",
			"logout.used_link":      "Dieser Abmeldelink wurde bereits verwendet.",
			"error.not_found":       "Diese Seite gibt es nicht.",
		},
		"nb": {
			"login.title":           "Logg inn",
			"login.to_client":       "for å fortsette til %s",
			"login.username":        "Brukernavn eller e-post",
			"login.password":        "Passord",
			"login.submit":          "Logg inn",
			"login.wrong":           "Feil brukernavn eller passord.",
			"login.no_password":     "Har du aldri satt et passord? Be administratoren din om å sette et for deg.",
			"login.wait":            "For mange mislykkede forsøk. Vent %d sekunder, og prøv igjen.",
			"login.locked_title":    "Kontoen er låst",
			"login.locked":          "Kontoen din er låst. Kontakt administratoren din for å låse den opp.",
			"logout.title":          "Logg ut",
			"logout.confirm":        "Vil du logge ut?",
			"logout.confirm_client": "Applikasjonen %s ber om å logge deg ut. Vil du logge ut?",
			"logout.submit":         "Logg ut",
			"logout.stay":           "Lukk denne siden for å forbli innlogget.",
			"logout.done_title":     "Logget ut",
			"logout.done":           "Du er logget ut. Du kan lukke denne siden.",
			"logout.invalid_link":   "Denne utloggingslenken er ugyldig eller utløpt. Gå tilbake til applikasjonen og logg ut på nytt.",
			"logout.used_link":      "Denne utloggingslenken er allerede brukt.",
			"error.not_found":       "Denne siden finnes ikke.",
		},
	}
}
