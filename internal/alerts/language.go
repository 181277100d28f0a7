package alerts

import (
	"context"
	"slices"
	"strings"

	"github.com/appreg-portal/portal/internal/i18n"
	"github.com/appreg-portal/portal/internal/store"
)

// Which language a message is in. The rule, in order:
//
//  1. A portal user (matched by e-mail) who chose a language in the
//     portal reads it: their own explicit choice is the best-founded.
//  2. Otherwise each tenant the message is about casts one vote: the
//     tenant's language (tenants.language) when the recipient is one of
//     its contacts, English when the recipient gets its alerts for another
//     reason (the portal-wide or a policy's list, which belong to the
//     portal's operators, not to the tenant). Dutch needs more votes than
//     English; a tie is English. So a tenant's contact gets the tenant's
//     language, and a recipient of several tenants' alerts the language
//     most of those tenants give it, whatever the order of the rows.
//  3. A webhook channel of one tenant speaks the tenant's language; a
//     portal-wide channel English.
//
// A user who never chose a language is not counted as choosing English:
// rule 2 decides for them, as it does for people without a portal account.

// langs holds what the store said about languages.
type langs struct{ store.AlertLanguages }

// languages reads the languages of recipients (e-mail addresses) and tenants.
func (a *Alerter) languages(ctx context.Context, recipients []string, tenantIDs []int64) (langs, error) {
	lower := make([]string, 0, len(recipients))
	for _, r := range recipients {
		if r = strings.ToLower(strings.TrimSpace(r)); strings.Contains(r, "@") {
			lower = append(lower, r)
		}
	}
	ls, err := a.store.AlertLanguages(ctx, lower, tenantIDs)
	return langs{ls}, err
}

// recipient is the language of a message to an address about the given
// tenants; with no tenants named, every tenant that lists the address as a
// contact votes.
func (ls langs) recipient(addr string, tenants []int64) i18n.Lang {
	if l, ok := i18n.Parse(ls.Users[addr]); ok {
		return l
	}
	contacts := ls.Contacts[addr]
	if tenants == nil {
		for id := range contacts {
			tenants = append(tenants, id)
		}
	}
	nl, en := 0, 0
	for _, id := range tenants {
		if l, ok := i18n.Parse(contacts[id]); ok && l == i18n.NL {
			nl++
		} else {
			en++
		}
	}
	if nl > en {
		return i18n.NL
	}
	return i18n.EN
}

// channel is the language of a channel's messages.
func (ls langs) channel(ch store.AlertChannel) i18n.Lang {
	if ch.TenantID == nil {
		return i18n.EN
	}
	l, _ := i18n.Parse(ls.Tenants[*ch.TenantID])
	if l == "" {
		return i18n.EN
	}
	return l
}

// digestTenants are the distinct tenants of a digest's listed items.
func digestTenants(dg store.AlertDigest) []int64 {
	var ids []int64
	for _, d := range dg.Items {
		if !slices.Contains(ids, d.TenantID) {
			ids = append(ids, d.TenantID)
		}
	}
	return ids
}

// digestLanguages reads, once per run, the languages of the digests'
// recipients and of the channels' tenants.
func (a *Alerter) digestLanguages(ctx context.Context, digests []store.AlertDigest, channels map[string]store.AlertChannel) (langs, error) {
	var recipients []string
	for _, dg := range digests {
		recipients = append(recipients, dg.Recipient)
	}
	var tenants []int64
	for _, ch := range channels {
		if ch.TenantID != nil {
			tenants = append(tenants, *ch.TenantID)
		}
	}
	return a.languages(ctx, recipients, tenants)
}

// channelLocalizer is the Localizer of one channel's messages.
func (a *Alerter) channelLocalizer(ctx context.Context, ch store.AlertChannel) (*i18n.Localizer, error) {
	if ch.TenantID == nil {
		return a.loc(i18n.EN), nil
	}
	ls, err := a.languages(ctx, nil, []int64{*ch.TenantID})
	if err != nil {
		return nil, err
	}
	return a.loc(ls.channel(ch)), nil
}

// loc is the Localizer of a language: Config.Localizer's, or i18n.For's.
func (a *Alerter) loc(l i18n.Lang) *i18n.Localizer {
	if a.cfg.Localizer != nil {
		return a.cfg.Localizer(l)
	}
	return i18n.For(l)
}
