package ratelimit

import (
	"net/netip"
)

// PrincipalKey returns the bucket key of a caller:
//
//   - "user:<subject>" for a signed-in user;
//   - else "key:<app>" for an application named by its API key (one
//     bucket for all of its anonymous users);
//   - else "ip:<client>", with the client's address as IPKey writes it.
func PrincipalKey(subject, app string, client netip.Addr) string {
	switch {
	case subject != "":
		return "user:" + subject
	case app != "":
		return "key:" + app
	}
	return "ip:" + IPKey(client)
}

// IPKey returns the part of a bucket key that names a client address: the
// address itself for IPv4, and its /64 network for IPv6, since a single
// subscriber is routinely given a whole /64 (and so could otherwise take a
// fresh bucket for every request). An invalid address is "unknown", one
// bucket for every such caller.
func IPKey(addr netip.Addr) string {
	switch {
	case !addr.IsValid():
		return "unknown"
	case addr.Is4():
		return addr.String()
	default:
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
}
