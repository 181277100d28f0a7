package handlers

import (
	"context"
	"testing"
	"time"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
	"github.com/appreg-portal/portal/web/templates"
)

// What the inventory says about rotating a credential follows the reader's
// language; English stays as it was.
func TestCredentialActionsInDutch(t *testing.T) {
	removeOn := time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)
	open := map[string]store.Rotation{
		"k1": {ID: "r1"},
		"k2": {ID: "r2", NewKeyID: "n2", NewHint: "Ab~"},
		"k3": {ID: "r3", NewKeyID: "n3", NewHint: "Cd~", RemoveAfter: &removeOn},
	}
	tests := []struct {
		name      string
		c         store.Credential
		lang      i18n.Lang
		notRot    string
		rotState  string
		canRotate bool
	}{
		{name: "certificate", c: store.Credential{Kind: "certificate", OwnerKind: "application", KeyID: "x"}, lang: i18n.NL,
			notRot: "Een certificaat wordt hier niet gerouleerd: upload het nieuwe certificaat naar de app-registratie (Certificaten en geheimen) en verwijder dit certificaat zodra het product het nieuwe gebruikt."},
		{name: "enterprise app", c: store.Credential{Kind: "password", OwnerKind: "servicePrincipal", KeyID: "x"}, lang: i18n.EN,
			notRot: "This secret belongs to an enterprise application (service principal), not an app registration, so the portal does not rotate it: renew it where it was made (often by the vendor)."},
		{name: "started", c: store.Credential{Kind: "password", OwnerKind: "application", KeyID: "K1"}, lang: i18n.NL,
			rotState: "rotatie gestart, nog geen nieuw geheim", canRotate: true},
		{name: "added", c: store.Credential{Kind: "password", OwnerKind: "application", KeyID: "k2"}, lang: i18n.EN,
			rotState: "new secret added (starts with Ab~); this one stays until you confirm", canRotate: true},
		{name: "scheduled", c: store.Credential{Kind: "password", OwnerKind: "application", KeyID: "k3"}, lang: i18n.NL,
			rotState: "nieuw geheim toegevoegd (begint met Cd~); dit geheim wordt verwijderd op 2026-12-14", canRotate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var row templates.CredentialRow
			credentialActionsIn(i18n.WithLocalizer(context.Background(), i18n.For(tt.lang)), &row, tt.c, true, open)
			if row.NotRotated != tt.notRot || row.RotationState != tt.rotState || row.CanRotate != tt.canRotate {
				t.Errorf("credentialActionsIn(%s) = %q, %q, %v; want %q, %q, %v", tt.lang, row.NotRotated, row.RotationState, row.CanRotate, tt.notRot, tt.rotState, tt.canRotate)
			}
		})
	}
}
