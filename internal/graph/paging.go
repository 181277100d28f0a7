package graph

import (
	"context"
	"fmt"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// iterate walks every page of a collection response, following
// @odata.nextLink with the SDK's PageIterator, calling fn for each non-nil
// item.
func iterate[T any](ctx context.Context, c *Client, op string, res absser.Parsable, factory absser.ParsableFactory, fn func(T)) error {
	if res == nil {
		return fmt.Errorf("graph: %s: empty response", op)
	}
	it, err := msgraphgocore.NewPageIterator[T](res, c.adapter, factory)
	if err != nil {
		return fmt.Errorf("graph: %s: page iterator: %w", op, err)
	}
	err = it.Iterate(ctx, func(x T) bool {
		if any(x) != nil {
			fn(x)
		}
		return true
	})
	return mapError(op, err)
}
