/*
 * netaddr.h — which IP addresses are public: the classifier behind allow_private_addresses.
 *
 * Pure: an address in, a verdict out; no I/O, no resolver, no globals. An address is public
 * when IANA's special-purpose address registries (IPv4 and IPv6) do not mark it as not
 * globally reachable, it is not multicast or reserved, and (IPv6) it lies in the global
 * unicast space 2000::/3. IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible,
 * NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32) are judged by the IPv4 addresses they
 * carry. Any thread.
 */
#ifndef FEEDWATCH_NETADDR_H
#define FEEDWATCH_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * NULL when the IPv4 address (host byte order) is public, else what it is: "loopback",
 * "private", "link-local", "shared (CGNAT)", "this network", "documentation",
 * "benchmarking", "IETF protocol assignments", "multicast", "reserved", "broadcast".
 */
const char *netaddr_v4_kind(uint32_t addr);

/* NULL when the IPv6 address (16 bytes, network order) is public, else what it is. */
const char *netaddr_v6_kind(const uint8_t addr[16]);

/*
 * NULL when the socket address (AF_INET or AF_INET6, len bytes) is public, else what it is;
 * any other family, or a length too short for it, is "not an IP address".
 */
const char *netaddr_sockaddr_kind(const struct sockaddr *sa, size_t len);

/* The same for an address as text ("127.0.0.1", "::1"); "not an IP address" when it is not one. */
const char *netaddr_text_kind(const char *text);

/* The address of sa as text (inet_ntop's form) into buf; "?" when it is not an IP address. */
const char *netaddr_format(const struct sockaddr *sa, size_t len, char *buf, size_t n);

#endif
