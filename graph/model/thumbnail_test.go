package model

import (
	"strconv"
	"testing"
)

func TestThumbnail(t *testing.T) {
	for in, want := range map[string]string{
		"https://img.example.com/p/1.jpg":         "https://img.example.com/p/1.jpg?fit=inside&h=256&w=256",
		"https://img.example.com/p/1.jpg?v=2&w=9": "https://img.example.com/p/1.jpg?fit=inside&h=256&v=2&w=256",
		"":                       "",
		"http://[::1]:namedport": "http://[::1]:namedport", // does not parse: as it is
	} {
		if got := Thumbnail(in, 256); got != want {
			t.Errorf("Thumbnail(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestThumbnailsAreRememberedWithinTheirBound: a product's thumbnail URL
// is what Thumbnail builds, remembered; the cache holds at most its size.
func TestThumbnailsAreRememberedWithinTheirBound(t *testing.T) {
	c := newThumbnailCache(8)
	for i := range 20 {
		img := "https://img.example.com/p/" + strconv.Itoa(i) + ".jpg"
		for range 2 {
			if got, want := c.of(img), Thumbnail(img, ThumbnailSize); got != want {
				t.Fatalf("of(%q) = %q, want %q", img, got, want)
			}
		}
	}
	if n := c.lru.Len(); n != 8 {
		t.Errorf("%d thumbnails remembered, want at most 8", n)
	}
	if _, ok := c.lru.Get("https://img.example.com/p/19.jpg"); !ok {
		t.Error("the latest thumbnail is not remembered")
	}
	p := &Product{ImageURL: "https://img.example.com/p/x.jpg"}
	if got := p.ThumbnailURL(); got != Thumbnail(p.ImageURL, ThumbnailSize) {
		t.Errorf("ThumbnailURL() = %q", got)
	}
}

func BenchmarkThumbnailURL(b *testing.B) {
	p := &Product{ImageURL: "https://img.example.com/p/x.jpg"}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.ThumbnailURL()
	}
}
