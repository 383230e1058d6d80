#include "base/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* One IPv4 block of the table below: addr/len is what, NULL kind = a public exception. */
struct v4_block {
    uint32_t addr;
    unsigned len;
    const char *kind;
};

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/*
 * IANA IPv4 Special-Purpose Address Registry, the blocks whose "Globally Reachable" is False
 * (and 192.0.0.0/24 whole: its two anycast exceptions, 192.0.0.9 and .10, serve no feeds),
 * plus multicast (224/4) and the limited broadcast address. Longest prefixes first where
 * they nest.
 */
static const struct v4_block v4_blocks[] = {
    {V4(255, 255, 255, 255), 32, "broadcast"}, {V4(0, 0, 0, 0), 8, "this network"},
    {V4(10, 0, 0, 0), 8, "private"},           {V4(100, 64, 0, 0), 10, "shared (CGNAT)"},
    {V4(127, 0, 0, 0), 8, "loopback"},         {V4(169, 254, 0, 0), 16, "link-local"},
    {V4(172, 16, 0, 0), 12, "private"},        {V4(192, 0, 0, 0), 24, "IETF protocol assignments"},
    {V4(192, 0, 2, 0), 24, "documentation"},   {V4(192, 168, 0, 0), 16, "private"},
    {V4(198, 18, 0, 0), 15, "benchmarking"},   {V4(198, 51, 100, 0), 24, "documentation"},
    {V4(203, 0, 113, 0), 24, "documentation"}, {V4(224, 0, 0, 0), 4, "multicast"},
    {V4(240, 0, 0, 0), 4, "reserved"},
};

static bool
v4_in(uint32_t addr, uint32_t net, unsigned len)
{
    uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
    return (addr & mask) == (net & mask);
}

/* NULL when the IPv4 address (host byte order) is public, else what it is. */
const char *
netaddr_v4_kind(uint32_t addr)
{
    for (size_t i = 0; i < sizeof(v4_blocks) / sizeof(v4_blocks[0]); i++)
        if (v4_in(addr, v4_blocks[i].addr, v4_blocks[i].len))
            return v4_blocks[i].kind;
    return NULL;
}

/* The IPv4 address in 4 bytes of network order, host order. */
static uint32_t
v4_at(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Whether the first len bits of a equal those of prefix (16 bytes each). */
static bool
v6_in(const uint8_t a[16], const uint8_t prefix[16], unsigned len)
{
    unsigned bytes = len / 8, bits = len % 8;
    if (memcmp(a, prefix, bytes) != 0)
        return false;
    if (bits == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - bits));
    return (a[bytes] & mask) == (prefix[bytes] & mask);
}

struct v6_block {
    uint8_t prefix[16];
    unsigned len;
    const char *kind; /* NULL: a globally reachable exception inside a larger block */
};

/*
 * IANA IPv6 Special-Purpose Address Registry inside 2000::/3 (everything outside it is
 * handled before this table). The exceptions of 2001::/23 that are globally reachable come
 * first; Teredo and 6to4 are judged by the IPv4 addresses they carry, before the table.
 */
static const struct v6_block v6_blocks[] = {
    {{0x20, 0x01, 0x00, 0x01, [15] = 0x01}, 128, NULL}, /* port control protocol anycast */
    {{0x20, 0x01, 0x00, 0x01, [15] = 0x02}, 128, NULL}, /* TURN anycast */
    {{0x20, 0x01, 0x00, 0x03}, 32, NULL},               /* AMT */
    {{0x20, 0x01, 0x00, 0x04, 0x01, 0x12}, 48, NULL},   /* AS112-v6 */
    {{0x20, 0x01, 0x00, 0x20}, 28, NULL},               /* ORCHIDv2 */
    {{0x20, 0x01, 0x00, 0x30}, 28, NULL},               /* drone remote ID */
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48, "benchmarking"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation"},
    {{0x20, 0x01}, 23, "IETF protocol assignments"},
    {{0x3f, 0xff}, 20, "documentation"},
};

/* NULL when the IPv6 address (16 bytes, network order) is public, else what it is. */
const char *
netaddr_v6_kind(const uint8_t a[16])
{
    static const uint8_t zero[16];
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const uint8_t nat64_local[6] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};

    if (memcmp(a, zero, 15) == 0)
        return a[15] == 0 ? "unspecified" : a[15] == 1 ? "loopback" : "IPv4-compatible";
    /* Forms that carry an IPv4 address: the address they reach is that one. */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, zero, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return netaddr_v4_kind(v4_at(a + 12));
    if (memcmp(a, nat64_local, 6) == 0)
        return "local-use NAT64";
    if (a[0] == 0x20 && a[1] == 0x02) /* 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD */
        return netaddr_v4_kind(v4_at(a + 2));
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
        /* Teredo: the server's address, then the client's, obscured (inverted). */
        uint8_t client[4] = {(uint8_t)~a[12], (uint8_t)~a[13], (uint8_t)~a[14], (uint8_t)~a[15]};
        const char *k = netaddr_v4_kind(v4_at(a + 4));
        return k ? k : netaddr_v4_kind(v4_at(client));
    }
    if ((a[0] & 0xfe) == 0xfc)
        return "unique local (private)";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "link-local";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return "site-local";
    if (a[0] == 0xff)
        return "multicast";
    if ((a[0] & 0xe0) != 0x20)
        return "reserved"; /* outside 2000::/3, the only global unicast space allocated */
    for (size_t i = 0; i < sizeof(v6_blocks) / sizeof(v6_blocks[0]); i++)
        if (v6_in(a, v6_blocks[i].prefix, v6_blocks[i].len))
            return v6_blocks[i].kind;
    return NULL;
}

/* NULL when the socket address is public, else what it is. */
const char *
netaddr_sockaddr_kind(const struct sockaddr *sa, size_t len)
{
    if (sa && sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin));
        return netaddr_v4_kind(ntohl(sin.sin_addr.s_addr));
    }
    if (sa && sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        return netaddr_v6_kind(sin6.sin6_addr.s6_addr);
    }
    return "not an IP address";
}

/* The same for an address as text. */
const char *
netaddr_text_kind(const char *text)
{
    uint8_t buf[16];
    if (text && inet_pton(AF_INET, text, buf) == 1)
        return netaddr_v4_kind(v4_at(buf));
    if (text && inet_pton(AF_INET6, text, buf) == 1)
        return netaddr_v6_kind(buf);
    return "not an IP address";
}

/* The address of sa as text into buf; "?" when it is not an IP address. */
const char *
netaddr_format(const struct sockaddr *sa, size_t len, char *buf, size_t n)
{
    const void *src = NULL;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    if (sa && sa->sa_family == AF_INET && len >= sizeof(sin)) {
        memcpy(&sin, sa, sizeof(sin));
        src = &sin.sin_addr;
    } else if (sa && sa->sa_family == AF_INET6 && len >= sizeof(sin6)) {
        memcpy(&sin6, sa, sizeof(sin6));
        src = &sin6.sin6_addr;
    }
    if (!src || !inet_ntop(sa->sa_family, src, buf, (socklen_t)n))
        snprintf(buf, n, "?");
    return buf;
}
