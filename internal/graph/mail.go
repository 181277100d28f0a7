package graph

import (
	"context"
	"encoding/json"
	"errors"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Mail is an alert message sent with Graph sendMail.
type Mail struct {
	To       []string
	Cc       []string
	Subject  string
	HTMLBody string
}

// SendMail sends a message from the mailbox of fromUser (object ID or userPrincipalName) with
// POST /users/{id}/sendMail (https://learn.microsoft.com/graph/api/user-sendmail). Graph answers 202:
// accepted, not delivered. App-only calls need the Mail.Send application permission. The request is built
// by hand to avoid compiling the SDK's large users package.
func (c *Client) SendMail(ctx context.Context, fromUser string, m Mail) error {
	if fromUser == "" || len(m.To)+len(m.Cc) == 0 {
		return errors.New("graph: send mail: sender and at least one recipient are required")
	}
	type address struct {
		EmailAddress struct {
			Address string `json:"address"`
		} `json:"emailAddress"`
	}
	list := func(addrs []string) []address {
		out := make([]address, len(addrs))
		for i, a := range addrs {
			out[i].EmailAddress.Address = a
		}
		return out
	}
	body := map[string]any{
		"message": map[string]any{
			"subject":      m.Subject,
			"body":         map[string]string{"contentType": "HTML", "content": m.HTMLBody},
			"toRecipients": list(m.To),
			"ccRecipients": list(m.Cc),
		},
		"saveToSentItems": false,
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	params := c.pathParams()
	params["user%2Did"] = fromUser
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.POST, "{+baseurl}/users/{user%2Did}/sendMail", params)
	ri.Headers.TryAdd("Accept", "application/json")
	ri.SetStreamContentAndContentType(b, "application/json")
	errMap := abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}
	return mapError("send mail", c.adapter.SendNoContent(ctx, ri, errMap))
}
