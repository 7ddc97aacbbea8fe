import SwiftletWebhooks
import Testing

/// Every forbidden range at its first and last address, and the public addresses just
/// outside it: an off-by-one in a mask shows at exactly these places.
@Suite("Webhook forbidden address ranges")
struct WebhookForbiddenRangeTests {
    static let ipv4: [(String, WebhookForbiddenRange?)] = [
        ("0.0.0.0", .unspecified), ("0.255.255.255", .unspecified), ("1.0.0.0", nil),
        ("126.255.255.255", nil), ("127.0.0.0", .loopback), ("127.0.0.1", .loopback),
        ("127.255.255.255", .loopback), ("128.0.0.0", nil),
        ("9.255.255.255", nil), ("10.0.0.0", .privateNetwork), ("10.255.255.255", .privateNetwork), ("11.0.0.0", nil),
        ("172.15.255.255", nil), ("172.16.0.0", .privateNetwork), ("172.31.255.255", .privateNetwork), ("172.32.0.0", nil),
        ("192.167.255.255", nil), ("192.168.0.0", .privateNetwork), ("192.168.255.255", .privateNetwork), ("192.169.0.0", nil),
        ("100.63.255.255", nil), ("100.64.0.0", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace), ("100.128.0.0", nil),
        ("100.100.100.200", .cloudMetadata), ("100.100.100.199", .sharedAddressSpace),
        ("169.253.255.255", nil), ("169.254.0.0", .linkLocal), ("169.254.0.23", .linkLocal),
        ("169.254.169.254", .cloudMetadata), ("169.254.169.253", .linkLocal), ("169.254.255.255", .linkLocal), ("169.255.0.0", nil),
        ("223.255.255.255", nil), ("224.0.0.0", .multicast), ("239.255.255.255", .multicast),
        ("240.0.0.0", .reserved), ("255.255.255.255", .reserved),
        ("8.8.8.8", nil), ("1.1.1.1", nil), ("203.0.113.9", nil), ("101.32.0.1", nil),
    ]

    static let ipv6: [(String, WebhookForbiddenRange?)] = [
        ("::", .unspecified), ("::1", .loopback), ("::2", .reserved),
        // IPv4-mapped: judged by the IPv4 address inside.
        ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("::ffff:10.1.2.3", .privateNetwork),
        ("::ffff:169.254.169.254", .cloudMetadata), ("::ffff:100.64.0.1", .sharedAddressSpace),
        ("::ffff:0.0.0.0", .unspecified), ("::ffff:224.0.0.1", .multicast), ("::ffff:8.8.8.8", nil),
        // IPv4-compatible (deprecated): outside 2000::/3.
        ("::127.0.0.1", .reserved), ("::8.8.8.8", .reserved),
        // NAT64 carries the IPv4 address a DNS64 server mapped; its public ones are fine.
        ("64:ff9b::127.0.0.1", .loopback), ("64:ff9b::10.0.0.1", .privateNetwork), ("64:ff9b::8.8.8.8", nil),
        ("64:ff9b:1::8.8.8.8", .reserved),
        // 6to4 carries an IPv4 address in bits 16–47.
        ("2002:7f00:1::", .loopback), ("2002:a9fe:a9fe::1", .cloudMetadata), ("2002:808:808::1", nil),
        ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .reserved),
        ("fc00::", .privateNetwork), ("fd12:3456::1", .privateNetwork), ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .privateNetwork),
        ("fd00:ec2::254", .cloudMetadata),
        ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .reserved),
        ("fe80::", .linkLocal), ("fe80::1", .linkLocal), ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .linkLocal),
        ("fec0::", .privateNetwork), ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .privateNetwork),
        ("ff00::", .multicast), ("ff02::1", .multicast), ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .multicast),
        ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .reserved), ("2000::", nil),
        ("2001:4860:4860::8888", nil), ("240e:1::1", nil), ("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", nil), ("4000::", .reserved),
        ("100::", .reserved),
    ]

    @Test(arguments: ipv4 + ipv6)
    func rangeOf(_ text: String, expected: WebhookForbiddenRange?) throws {
        let address = try #require(WebhookIPAddress(text), "\(text) parses")
        #expect(WebhookForbiddenRange.containing(address) == expected, "\(text)")
        #expect(WebhookURLPolicy().isForbidden(address: address) == (expected != nil), "\(text)")
    }

    @Test func everyRangeHasAnEdgeCase() {
        let covered = Set((Self.ipv4 + Self.ipv6).compactMap(\.1))
        #expect(covered == Set(WebhookForbiddenRange.allCases))
    }

    @Test func developmentAllowsLoopbackOnly() throws {
        let development = WebhookURLPolicy(mode: .development)
        for allowed in ["127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", "8.8.8.8"] {
            #expect(!development.isForbidden(address: try #require(WebhookIPAddress(allowed))), "\(allowed)")
        }
        for refused in ["10.0.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::", "fe80::1", "fd00::1", "100.64.0.1"] {
            #expect(development.isForbidden(address: try #require(WebhookIPAddress(refused))), "\(refused)")
        }
    }

    @Test func allowListedNetworksAreAllowedAndOnlyThey() throws {
        let policy = WebhookURLPolicy(allowList: try WebhookAllowList(entries: ["10.20.0.0/16", "fd12:3456::/32", "192.168.1.7"]))
        for allowed in ["10.20.0.0", "10.20.255.255", "fd12:3456:ffff::1", "192.168.1.7", "::ffff:10.20.0.1"] {
            #expect(policy.forbiddenRange(of: try #require(WebhookIPAddress(allowed))) == nil, "\(allowed)")
        }
        for refused in ["10.19.255.255", "10.21.0.0", "fd12:3457::1", "192.168.1.8", "127.0.0.1"] {
            #expect(policy.isForbidden(address: try #require(WebhookIPAddress(refused))), "\(refused)")
        }
    }

    /// A network holds addresses of its own family; the allow-list (above) is what also
    /// admits the IPv4-mapped form of a listed IPv4 address.
    @Test func networksMatchTheirOwnFamilyOnly() throws {
        let network = try #require(WebhookIPNetwork("10.20.0.0/16"))
        #expect(network.contains(try #require(WebhookIPAddress("10.20.3.4"))))
        #expect(!network.contains(try #require(WebhookIPAddress("::ffff:10.20.3.4"))))
        #expect(!network.contains(try #require(WebhookIPAddress("::a14:304"))))
    }

    @Test func addressesParseOnlyInCanonicalForm() {
        for accepted in ["0.0.0.0", "255.255.255.255", "10.0.0.1", "::", "::1", "fe80::1", "::ffff:1.2.3.4", "2001:db8::1"] {
            #expect(WebhookIPAddress(accepted) != nil, "\(accepted)")
        }
        for refused in ["127.1", "0x7f.0.0.1", "2130706433", "010.0.0.1", "0177.0.0.1", "1.2.3.4.5", "256.0.0.1", "1.2.3",
                        "[::1]", "fe80::1%eth0", ":::1", "1.2.3.4 ", "", "localhost", "::ffff:1.2.3"] {
            #expect(WebhookIPAddress(refused) == nil, "\(refused)")
        }
    }

    @Test func addressesPrintCanonically() throws {
        #expect(try #require(WebhookIPAddress("10.0.0.1")).description == "10.0.0.1")
        #expect(try #require(WebhookIPAddress("0:0:0:0:0:0:0:1")).description == "::1")
        #expect(try #require(WebhookIPAddress("::FFFF:7F00:1")).description == "::ffff:127.0.0.1")
        #expect(try #require(WebhookIPAddress("FE80:0::0001")).description == "fe80::1")
    }

    @Test func networksParseWithTheirPrefix() throws {
        #expect(try #require(WebhookIPNetwork("10.0.0.0/8")).description == "10.0.0.0/8")
        #expect(try #require(WebhookIPNetwork("0.0.0.0/0")).contains(try #require(WebhookIPAddress("203.0.113.1"))))
        #expect(try #require(WebhookIPNetwork("::/0")).contains(try #require(WebhookIPAddress("2001:db8::1"))))
        #expect(try #require(WebhookIPNetwork("10.1.2.3")).prefixLength == 32)
        #expect(try #require(WebhookIPNetwork("fd00::1")).prefixLength == 128)
        let single = try #require(WebhookIPNetwork("10.1.2.3/32"))
        #expect(single.contains(try #require(WebhookIPAddress("10.1.2.3"))))
        #expect(!single.contains(try #require(WebhookIPAddress("10.1.2.2"))))
        for refused in ["10.0.0.1/8", "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08x", "/8", "10.0.0.0/8/8"] {
            #expect(WebhookIPNetwork(refused) == nil, "\(refused)")
        }
    }
}
