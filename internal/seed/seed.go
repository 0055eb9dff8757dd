// Package seed generates the deterministic demo data set shared by the
// services: each service seeds its own database from it on first start, and
// the order service's orders point at the users and products the other two
// seed. The same sizes and anchor time always give the same data.
package seed

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
)

// Sizes are how many of each resource to seed.
type Sizes struct {
	Users    int
	Products int
	Orders   int
}

// DefaultSizes are the sizes seeded unless configured otherwise.
var DefaultSizes = Sizes{Users: 200, Products: 120, Orders: 5000}

// Validate reports sizes that cannot hold the fixed accounts.
func (s Sizes) Validate() error {
	if s.Users < len(FixedAccounts) || s.Products < 1 || s.Orders < 0 {
		return fmt.Errorf("seed sizes: want at least %d users and 1 product, and no negative count", len(FixedAccounts))
	}
	return nil
}

// Account is a demo account with its clear-text password.
type Account struct {
	Email, Password, Name, FirstName, Role string
}

// FixedAccounts are the demo accounts, always the first users seeded.
var FixedAccounts = []Account{
	{Email: "admin@example.com", Password: "admin123", Name: "Alex Admin", FirstName: "Alex", Role: "admin"},
	{Email: "ada@example.com", Password: "ada123", Name: "Ada Lovelace", FirstName: "Ada", Role: "customer"},
	{Email: "grace@example.com", Password: "grace123", Name: "Grace Hopper", FirstName: "Grace", Role: "customer"},
}

// GeneratedPassword is the password of every generated (non-fixed) user.
const GeneratedPassword = "password"

// OrdersPerFixedCustomer is how many orders each fixed customer gets first.
const OrdersPerFixedCustomer = 15

// stableID derives a prefixed id from a kind and an index.
func stableID(prefix, kind string, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "bff-seed/%s/%d", kind, i))
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	out := []byte(prefix)
	for _, c := range sum[:16] {
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}

// UserID, ProductID and OrderID return the id of the i-th seeded resource.
func UserID(i int) string    { return stableID(ids.UserPrefix, "user", i) }
func ProductID(i int) string { return stableID(ids.ProductPrefix, "product", i) }
func OrderID(i int) string   { return stableID(ids.OrderPrefix, "order", i) }

// SeedUser is a seeded user with the password to hash.
type SeedUser struct {
	contract.User
	Password string
}

var firstNames = []string{"Liam", "Olivia", "Noah", "Emma", "Mateo", "Amara", "Kenji", "Sofia", "Ravi", "Chloe", "Tariq", "Ingrid", "Diego", "Mei", "Yusuf", "Hana"}
var lastNames = []string{"Okafor", "Nakamura", "Silva", "Novak", "Haddad", "Larsen", "Moreau", "Kowalski", "Reyes", "Patel", "Schmidt", "Rossi", "Ahmed", "Kim", "Murphy", "Dubois"}

// Users returns n users, the fixed accounts first.
func Users(n int, anchor time.Time) []SeedUser {
	rng := rand.New(rand.NewPCG(1, 1))
	users := make([]SeedUser, 0, n)
	for i := range n {
		var a Account
		if i < len(FixedAccounts) {
			a = FixedAccounts[i]
		} else {
			first := firstNames[rng.IntN(len(firstNames))]
			last := lastNames[rng.IntN(len(lastNames))]
			a = Account{
				Email:     fmt.Sprintf("user%d@example.com", i),
				Password:  GeneratedPassword,
				Name:      first + " " + last,
				FirstName: first,
				Role:      "customer",
			}
		}
		id := UserID(i)
		users = append(users, SeedUser{
			User: contract.User{
				ID:        id,
				Email:     a.Email,
				Name:      a.Name,
				FirstName: a.FirstName,
				Role:      a.Role,
				AvatarURL: "https://img.example.com/avatars/" + id + ".png",
				CreatedAt: anchor.Add(-time.Duration(400-i%400) * 24 * time.Hour).UTC(),
			},
			Password: a.Password,
		})
	}
	return users
}

type category struct {
	name, code string
	nouns      []string
}

var categories = []category{
	{"Electronics", "ELE", []string{"Headphones", "Charger", "Speaker", "Keyboard", "Webcam", "Monitor Arm"}},
	{"Books", "BOK", []string{"Cookbook", "Novel", "Field Guide", "Atlas", "Notebook", "Poetry Collection"}},
	{"Home & Kitchen", "HOM", []string{"Kettle", "Skillet", "Mug Set", "Cutting Board", "Lamp", "Throw Blanket"}},
	{"Toys", "TOY", []string{"Puzzle", "Building Set", "Kite", "Plush Bear", "Board Game", "Yo-yo"}},
	{"Sports", "SPO", []string{"Yoga Mat", "Water Bottle", "Jump Rope", "Dumbbell", "Tennis Balls", "Cycling Gloves"}},
	{"Beauty", "BEA", []string{"Face Cream", "Shampoo", "Lip Balm", "Hand Soap", "Sunscreen", "Hair Brush"}},
	{"Grocery", "GRO", []string{"Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Honey", "Granola"}},
	{"Garden", "GAR", []string{"Trowel", "Watering Can", "Seed Kit", "Planter", "Pruning Shears", "Hose"}},
}

var adjectives = []string{"Classic", "Compact", "Deluxe", "Eco", "Everyday", "Handmade", "Modern", "Pro", "Rustic", "Smart", "Travel", "Vintage"}

// Categories returns the category names products are seeded in.
func Categories() []string {
	out := make([]string, len(categories))
	for i, c := range categories {
		out[i] = c.name
	}
	return out
}

// Products returns n products over every category, every tenth featured and
// some out of stock.
func Products(n int, anchor time.Time) []contract.Product {
	rng := rand.New(rand.NewPCG(2, 2))
	products := make([]contract.Product, 0, n)
	for i := range n {
		c := categories[i%len(categories)]
		adj := adjectives[rng.IntN(len(adjectives))]
		noun := c.nouns[rng.IntN(len(c.nouns))]
		featured := i%10 == 3
		stock := 5 + rng.IntN(200)
		if i%17 == 5 && !featured {
			stock = 0
		}
		id := ProductID(i)
		products = append(products, contract.Product{
			ID:          id,
			SKU:         fmt.Sprintf("%s-%04d", c.code, i+1),
			Name:        fmt.Sprintf("%s %s", adj, noun),
			Description: fmt.Sprintf("%s %s %s from our %s range.", article(adj), lower(adj), lower(noun), c.name),
			Category:    c.name,
			PriceCents:  int64(100*(1+rng.IntN(300)) - 1),
			Currency:    contract.Currency,
			ImageURL:    "https://img.example.com/products/" + id + ".jpg",
			Stock:       stock,
			Featured:    featured,
			CreatedAt:   anchor.Add(-time.Duration(365-i%365) * 24 * time.Hour).UTC(),
		})
	}
	return products
}

func article(word string) string {
	if strings.ContainsRune("AEIOU", rune(word[0])) {
		return "An"
	}
	return "A"
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Orders returns n orders placed over the 90 days before anchor, in every
// status, by the users and for the products of the given sizes. The first
// OrdersPerFixedCustomer orders belong to each fixed customer in turn.
func Orders(sizes Sizes, anchor time.Time) []contract.Order {
	products := Products(sizes.Products, anchor)
	rng := rand.New(rand.NewPCG(3, 3))
	orders := make([]contract.Order, 0, sizes.Orders)
	const window = 90 * 24 * time.Hour
	for i := range sizes.Orders {
		var userIdx int
		switch {
		case i < OrdersPerFixedCustomer:
			userIdx = 1
		case i < 2*OrdersPerFixedCustomer:
			userIdx = 2
		default:
			userIdx = 1 + rng.IntN(sizes.Users-1)
		}
		age := time.Duration(rng.Int64N(int64(window)))
		created := anchor.Add(-age).UTC().Truncate(time.Second)
		status := statusFor(i, age, rng)
		nItems := 1 + rng.IntN(4)
		if nItems > len(products) {
			nItems = len(products)
		}
		items := make([]contract.OrderItem, 0, nItems)
		var total int64
		for _, pi := range rng.Perm(len(products))[:nItems] {
			p := products[pi]
			q := 1 + rng.IntN(3)
			items = append(items, contract.OrderItem{ProductID: p.ID, Quantity: q, UnitPriceCents: p.PriceCents})
			total += int64(q) * p.PriceCents
		}
		orders = append(orders, contract.Order{
			ID:         OrderID(i),
			UserID:     UserID(userIdx),
			Status:     status,
			Items:      items,
			TotalCents: total,
			Currency:   contract.Currency,
			CreatedAt:  created,
		})
	}
	return orders
}

// statusFor picks a status that fits the order's age, cycling through every
// status for the fixed customers' orders so that each has all of them.
func statusFor(i int, age time.Duration, rng *rand.Rand) string {
	if i < 2*OrdersPerFixedCustomer {
		return contract.OrderStatuses[i%len(contract.OrderStatuses)]
	}
	if rng.IntN(100) < 8 {
		return contract.StatusCancelled
	}
	day := 24 * time.Hour
	switch {
	case age < 2*day:
		return []string{contract.StatusPending, contract.StatusPaid}[rng.IntN(2)]
	case age < 7*day:
		return []string{contract.StatusPaid, contract.StatusShipped}[rng.IntN(2)]
	case age < 14*day:
		return []string{contract.StatusShipped, contract.StatusDelivered}[rng.IntN(2)]
	}
	return contract.StatusDelivered
}
