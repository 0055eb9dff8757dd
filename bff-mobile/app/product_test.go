package app_test

import (
	"testing"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/contract"
)

// productData is the Product document's answer.
type productData struct {
	Product *struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		Description    string `json:"description"`
		PriceFormatted string `json:"priceFormatted"`
		ImageURL       string `json:"imageUrl"`
		InStock        bool   `json:"inStock"`
	} `json:"product"`
}

func TestProduct(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	token := env.Stack.Token(t, adaEmail, adaPassword)
	all := rest[contract.ProductPage](t, token, env.Stack.Product.URL+"/v1/products?limit=100")
	var inStock, soldOut *contract.Product
	for i, p := range all.Products {
		switch {
		case p.Stock > 0 && inStock == nil:
			inStock = &all.Products[i]
		case p.Stock == 0 && soldOut == nil:
			soldOut = &all.Products[i]
		}
	}
	if inStock == nil || soldOut == nil {
		t.Fatal("the seed has no product in stock or none sold out")
	}

	clients := map[string]*bfftest.Client{
		"with only the key": appClient(env),
		"with a token":      signIn(t, env, adaEmail, adaPassword),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			for _, w := range []*contract.Product{inStock, soldOut} {
				r := c.Op(t, "Product", map[string]any{"id": w.ID})
				p := bfftest.Decode[productData](t, r).Product
				if len(r.Errors) > 0 || p == nil {
					t.Fatalf("Product %s: %s", w.ID, r.Raw)
				}
				if p.ID != w.ID || p.Name != w.Name || p.Description != w.Description ||
					p.PriceFormatted != usd(w.PriceCents) || p.ImageURL != w.ImageURL || p.InStock != (w.Stock > 0) {
					t.Errorf("product %+v, want %+v", *p, *w)
				}
			}
			for _, id := range []string{"prd_zzzzzzzzzzzzzzzz", "not-a-product-id"} {
				r := c.Op(t, "Product", map[string]any{"id": id})
				if p := bfftest.Decode[productData](t, r).Product; p != nil {
					t.Errorf("product %q: %s", id, r.Raw)
				}
				wantError(t, r, "product", "NOT_FOUND")
			}
		})
	}
}
