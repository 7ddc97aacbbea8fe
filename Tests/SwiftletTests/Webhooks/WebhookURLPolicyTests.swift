import SwiftletWebhooks
import Testing

/// The pure check of a webhook URL: its form, and the address of an IP-literal host.
@Suite("Webhook URL policy")
struct WebhookURLPolicyTests {
    let production = WebhookURLPolicy()
    let development = WebhookURLPolicy(mode: .development)

    func error(_ policy: WebhookURLPolicy, _ url: String) -> WebhookURLError? {
        if case .failure(let error) = policy.check(url: url) { return error }
        return nil
    }

    @Test func aPublicHTTPSURLPasses() throws {
        let target = try production.check(url: "https://Hooks.Example.COM./wechat/notify?token=abc#frag").get()
        #expect(target.host == "hooks.example.com")
        #expect(target.scheme == "https")
        #expect(target.port == 443)
        #expect(target.address == nil)
        #expect(!target.isAllowListed)
        #expect(target.url.absoluteString == "https://Hooks.Example.COM./wechat/notify?token=abc#frag")
        #expect(try production.check(url: "HTTPS://example.com:8443/").get().port == 8443)
        #expect(try production.check(url: "https://8.8.8.8/").get().address == WebhookIPAddress("8.8.8.8"))
        #expect(try production.check(url: "https://[2001:4860:4860::8888]:8443/").get().host == "2001:4860:4860::8888")
        #expect(try production.check(url: "https://xn--bcher-kva.example/").get().host == "xn--bcher-kva.example")
    }

    @Test func productionRequiresHTTPSAndDevelopmentAlsoTakesHTTP() throws {
        #expect(error(production, "http://example.com/") == .schemeNotAllowed("http", allowed: ["https"]))
        #expect(try development.check(url: "http://example.com/").get().port == 80)
        #expect(try development.check(url: "https://example.com/").get().port == 443)
        for other in ["ftp://example.com/", "file:///etc/passwd", "gopher://example.com/", "ws://example.com/", "javascript:alert(1)"] {
            #expect(error(development, other)?.code == "webhooks.url_invalid", "\(other)")
        }
        #expect(error(production, "ftp://example.com/") == .schemeNotAllowed("ftp", allowed: ["https"]))
        #expect(error(production, "http://example.com/")?.description == "the webhook URL uses http; webhook URLs must use https")
    }

    @Test func userInfoIsRefusedInEveryForm() {
        for url in ["https://user@example.com/", "https://user:pw@example.com/", "https://@example.com/", "https://:@example.com/",
                    "https://127.0.0.1@example.com/", "https://example.com\\@127.0.0.1/"] {
            #expect(error(development, url) == .userInfoNotAllowed, "\(url)")
        }
    }

    @Test func theHostJudgedIsTheHostReached() throws {
        // A fragment or query that looks like an authority does not move the host.
        #expect(try production.check(url: "https://example.com#@127.0.0.1/").get().host == "example.com")
        #expect(try production.check(url: "https://example.com?@127.0.0.1/").get().host == "example.com")
        #expect(try production.check(url: "https://example.com/@127.0.0.1/").get().host == "example.com")
    }

    @Test func malformedURLsAndHostsAreRefused() {
        #expect(error(production, "not a url") == .malformed)
        #expect(error(production, "https://exa mple.com/") == .malformed)
        #expect(error(production, "example.com/hook") == .malformed)
        #expect(error(production, "//example.com/hook") == .malformed)
        #expect(error(production, "") == .malformed)
        #expect(error(production, "https:///hook") == .missingHost)
        #expect(error(production, "https:example.com") == .missingHost)
        #expect(error(production, "https://example.com:0/") == .invalidPort(0))
        #expect(error(production, "https://example.com:65536/") == .invalidPort(65536))
        #expect(error(production, "https://[fe80::1%25eth0]/") == .invalidHost)
        #expect(error(production, "https://exa_mple..com/") == .invalidHost)
        #expect(error(production, "https://[::1::2]/") == .invalidHost)
    }

    /// Numbers that `inet_aton` (which a resolver may call) and browsers read as IPv4
    /// addresses, each in its own way: refused rather than guessed.
    @Test(arguments: ["127.1", "2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "017700000001", "127.0.0.01",
                      "10.0.0.0.1", "example.123", "a.0x10", "127.0.1."])
    func ambiguousNumericHostsAreRefused(host: String) {
        #expect(error(development, "https://\(host)/") == .ambiguousHost(host), "\(host)")
    }

    @Test func ipLiteralsAreCheckedWithoutResolving() {
        let cases: [(String, WebhookForbiddenRange)] = [
            ("https://127.0.0.1/", .loopback), ("https://[::1]/", .loopback), ("https://[::ffff:127.0.0.1]/", .loopback),
            ("https://10.1.2.3/", .privateNetwork), ("https://192.168.0.1:8443/", .privateNetwork),
            ("https://169.254.169.254/latest/meta-data/", .cloudMetadata), ("https://100.100.100.200/", .cloudMetadata),
            ("https://[fd00:ec2::254]/", .cloudMetadata), ("https://0.0.0.0/", .unspecified), ("https://[::]/", .unspecified),
            ("https://[fe80::1]/", .linkLocal), ("https://224.0.0.1/", .multicast), ("https://100.64.0.1/", .sharedAddressSpace),
            ("https://127.0.0.1./", .loopback),
        ]
        for (url, range) in cases {
            guard case .forbiddenAddress(_, let address, let found)? = error(production, url) else {
                Issue.record("\(url) was not refused for its address")
                continue
            }
            #expect(found == range, "\(url) → \(address)")
            #expect(error(production, url)?.code == "webhooks.url_forbidden")
        }
        #expect(error(production, "https://10.1.2.3/hook?token=secret")?.description
            == "the webhook URL's host 10.1.2.3 is a private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7); webhooks go to public addresses unless the host or its network is on the allow-list")
    }

    @Test func developmentAllowsHTTPToLoopbackButNoOtherPrivateAddress() throws {
        for url in ["http://127.0.0.1:8080/hook", "http://[::1]:8080/", "http://localhost:8080/", "http://api.localhost/", "https://[::ffff:127.0.0.1]/"] {
            #expect(throws: Never.self, "\(url)") { try development.check(url: url).get() }
        }
        for url in ["http://10.0.0.1/", "http://169.254.169.254/", "http://[fd00::1]/", "http://0.0.0.0:8080/"] {
            #expect(error(development, url)?.code == "webhooks.url_forbidden", "\(url)")
        }
    }

    /// `localhost` is this machine whatever DNS says (RFC 6761), so it is refused before
    /// any lookup in production.
    @Test func localhostNamesAreRefusedInProduction() {
        for host in ["localhost", "LOCALHOST", "localhost.", "api.localhost", "a.b.localhost"] {
            #expect(error(production, "https://\(host)/") == .forbiddenHost(host.lowercased().trimmingSuffixDot, .loopback), "\(host)")
        }
        #expect(error(production, "https://localhost.example.com/") == nil)
        #expect(error(production, "https://mylocalhost/") == nil)
    }

    @Test func theAllowListLiftsTheAddressCheckButNotHTTPS() throws {
        let policy = WebhookURLPolicy(allowList: try WebhookAllowList(entries: ["Hooks.Internal.", "10.20.0.0/16", "localhost"]))
        let target = try policy.check(url: "https://hooks.internal/in").get()
        #expect(target.isAllowListed)
        #expect(!(try policy.check(url: "https://evil.hooks.internal/in").get().isAllowListed), "exact host only")
        #expect(throws: Never.self) { try policy.check(url: "https://10.20.3.4/").get() }
        #expect(error(policy, "https://10.21.3.4/")?.code == "webhooks.url_forbidden")
        #expect(throws: Never.self) { try policy.check(url: "https://localhost/").get() }
        #expect(error(policy, "http://hooks.internal/in") == .schemeNotAllowed("http", allowed: ["https"]))
        #expect(error(policy, "http://10.20.3.4/") == .schemeNotAllowed("http", allowed: ["https"]))
    }

    @Test func allowListEntriesAreHostsAddressesOrNetworks() throws {
        let list = try WebhookAllowList(entries: [" hooks.internal ", "10.0.0.0/8", "fd00::/8", "192.168.1.7", "::1"])
        #expect(list.hosts == ["hooks.internal"])
        #expect(list.networks.map(\.description) == ["10.0.0.0/8", "fd00::/8", "192.168.1.7/32", "::1/128"])
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "127.1", "*.internal", "https://hooks.internal", "hooks internal", "", "fe80::1%eth0"] {
            #expect(throws: WebhookAllowListError.invalidEntry(bad), "\(bad)") { try WebhookAllowList(entries: [bad]) }
        }
    }

    @Test func errorsNeverShowThePathOrQuery() {
        let urls = ["http://example.com/p/SECRET?token=SECRET", "https://u:SECRET@example.com/", "https://10.0.0.1/SECRET?SECRET",
                    "https://localhost/SECRET", "https://127.1/SECRET", "https://example.com:0/SECRET"]
        for url in urls {
            let message = error(production, url)?.description ?? ""
            #expect(!message.isEmpty && !message.contains("SECRET"), "\(url): \(message)")
        }
    }
}

extension String {
    fileprivate var trimmingSuffixDot: String { hasSuffix(".") ? String(dropLast()) : self }
}
