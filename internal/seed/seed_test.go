package seed

import (
	"reflect"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
)

var anchor = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func TestDefaultDataSetHasWhatTheDemoNeeds(t *testing.T) {
	s := DefaultSizes
	users := Users(s.Users, anchor)
	products := Products(s.Products, anchor)
	orders := Orders(s, anchor)
	if len(users) != 200 || len(products) != 120 || len(orders) != 5000 {
		t.Fatalf("sizes %d/%d/%d", len(users), len(products), len(orders))
	}
	for i, a := range FixedAccounts {
		if users[i].Email != a.Email || users[i].Role != a.Role || users[i].ID != UserID(i) {
			t.Errorf("user %d = %+v, want %s", i, users[i].User, a.Email)
		}
	}
	emails := map[string]bool{}
	for _, u := range users {
		if emails[u.Email] || !ids.ValidUser(u.ID) {
			t.Errorf("duplicate email or bad id: %+v", u.User)
		}
		emails[u.Email] = true
	}

	cats, featured, outOfStock := map[string]bool{}, 0, 0
	productByID := map[string]contract.Product{}
	for _, p := range products {
		cats[p.Category] = true
		if p.Featured {
			featured++
		}
		if p.Stock == 0 {
			outOfStock++
		}
		productByID[p.ID] = p
	}
	if len(cats) < 6 || featured < 8 || outOfStock == 0 {
		t.Errorf("%d categories, %d featured, %d out of stock", len(cats), featured, outOfStock)
	}

	statuses := map[string]int{}
	perUser := map[string]int{}
	for _, o := range orders {
		statuses[o.Status]++
		perUser[o.UserID]++
		age := anchor.Sub(o.CreatedAt)
		if age < 0 || age > 90*24*time.Hour {
			t.Fatalf("order %s placed %v before the anchor", o.ID, age)
		}
		var total int64
		for _, it := range o.Items {
			p, ok := productByID[it.ProductID]
			if !ok || it.UnitPriceCents != p.PriceCents {
				t.Fatalf("order %s has item %+v not matching the catalogue", o.ID, it)
			}
			total += int64(it.Quantity) * it.UnitPriceCents
		}
		if total != o.TotalCents {
			t.Fatalf("order %s total %d, items sum to %d", o.ID, o.TotalCents, total)
		}
	}
	for _, st := range contract.OrderStatuses {
		if statuses[st] == 0 {
			t.Errorf("no order is %s", st)
		}
	}
	for i := 1; i <= 2; i++ {
		if perUser[UserID(i)] < 12 {
			t.Errorf("%s has %d orders, want at least 12", FixedAccounts[i].Email, perUser[UserID(i)])
		}
	}
}

func TestDataSetIsDeterministic(t *testing.T) {
	s := Sizes{Users: 10, Products: 12, Orders: 50}
	if !reflect.DeepEqual(Orders(s, anchor), Orders(s, anchor)) ||
		!reflect.DeepEqual(Products(12, anchor), Products(12, anchor)) ||
		!reflect.DeepEqual(Users(10, anchor), Users(10, anchor)) {
		t.Fatal("the same sizes and anchor gave different data")
	}
	if err := (Sizes{Users: 2, Products: 1}).Validate(); err == nil {
		t.Error("sizes without room for the fixed accounts must be refused")
	}
}
