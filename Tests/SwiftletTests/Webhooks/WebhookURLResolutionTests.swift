import Synchronization
import SwiftletWebhooks
import Testing

/// The check a delivery makes right before connecting: the host resolved now, every
/// address it resolves to checked. A scripted resolver plays DNS, including one that
/// answers differently the second time (rebinding); the system resolver is tried on
/// names every machine resolves without a network.
@Suite("Webhook URL resolution")
struct WebhookURLResolutionTests {
    /// Answers from a script, one answer per lookup (the last one repeats), and counts lookups.
    final class ScriptedResolver: WebhookHostResolver {
        let answers: [String: [[String]]]
        let lookups = Mutex<[String]>([])

        init(_ answers: [String: [[String]]]) {
            self.answers = answers
        }

        func resolve(host: String) async throws -> [WebhookIPAddress] {
            let count = lookups.withLock { lookups in
                lookups.append(host)
                return lookups.filter { $0 == host }.count
            }
            guard let script = answers[host] else { throw WebhookResolutionError(message: "Name or service not known") }
            return script[min(count, script.count) - 1].map { WebhookIPAddress($0)! }
        }
    }

    let production = WebhookURLPolicy()

    func refusal(_ policy: WebhookURLPolicy, _ url: String, _ resolver: ScriptedResolver) async -> WebhookURLError? {
        do {
            _ = try await policy.resolveAndCheck(url, resolver: resolver)
            return nil
        } catch {
            return error
        }
    }

    @Test func aHostResolvingToPublicAddressesGivesThemAll() async throws {
        let resolver = ScriptedResolver(["hooks.example.com": [["203.0.113.10", "2001:db8::10"]]])
        let destination = try await production.resolveAndCheck("https://Hooks.Example.com./in?x=1", resolver: resolver)
        #expect(destination.addresses.map(\.description) == ["203.0.113.10", "2001:db8::10"])
        #expect(destination.target.host == "hooks.example.com")
        #expect(destination.target.port == 443)
        #expect(resolver.lookups.withLock { $0 } == ["hooks.example.com"])
    }

    @Test func oneForbiddenAddressAmongPublicOnesRefusesTheHost() async {
        let resolver = ScriptedResolver(["mixed.example.com": [["203.0.113.10", "10.0.0.5", "203.0.113.11"]]])
        let error = await refusal(production, "https://mixed.example.com/", resolver)
        #expect(error == .forbiddenAddress(host: "mixed.example.com", address: WebhookIPAddress("10.0.0.5")!, range: .privateNetwork))
        #expect(error?.code == "webhooks.url_forbidden")
        #expect(error?.description
            == "the webhook URL's host mixed.example.com resolves to 10.0.0.5, a private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7); webhooks go to public addresses unless the host or its network is on the allow-list")
    }

    @Test(arguments: ["127.0.0.1", "::1", "169.254.169.254", "100.100.100.200", "::ffff:192.168.1.1", "fe80::1", "0.0.0.0", "fd00::5"])
    func hostsResolvingToForbiddenAddressesAreRefused(address: String) async {
        let resolver = ScriptedResolver(["evil.example.com": [[address]]])
        let error = await refusal(production, "https://evil.example.com/", resolver)
        guard case .forbiddenAddress(let host, let found, _)? = error else {
            Issue.record("\(address) was not refused: \(String(describing: error))")
            return
        }
        #expect(host == "evil.example.com")
        #expect(found == WebhookIPAddress(address))
    }

    /// Registration saw a public address; by delivery time the same name points at the
    /// metadata service. The second check, made before connecting, refuses it.
    @Test func aRebindingBetweenRegistrationAndDeliveryIsCaught() async throws {
        let resolver = ScriptedResolver(["rebind.example.com": [["203.0.113.7"], ["169.254.169.254"]]])
        let atRegistration = try await production.resolveAndCheck("https://rebind.example.com/hook", resolver: resolver)
        #expect(atRegistration.addresses == [WebhookIPAddress("203.0.113.7")!])
        let atDelivery = await refusal(production, "https://rebind.example.com/hook", resolver)
        #expect(atDelivery == .forbiddenAddress(host: "rebind.example.com", address: WebhookIPAddress("169.254.169.254")!, range: .cloudMetadata))
        #expect(resolver.lookups.withLock { $0.count } == 2, "resolved afresh each time, never cached")
    }

    @Test func anIPLiteralIsNotResolved() async throws {
        let resolver = ScriptedResolver([:])
        let destination = try await production.resolveAndCheck("https://[2001:db8::1]:8443/", resolver: resolver)
        #expect(destination.addresses == [WebhookIPAddress("2001:db8::1")!])
        #expect(await refusal(production, "https://10.0.0.1/", resolver)?.code == "webhooks.url_forbidden")
        #expect(resolver.lookups.withLock { $0.isEmpty })
    }

    @Test func theFormIsCheckedBeforeAnyLookup() async {
        let resolver = ScriptedResolver(["example.com": [["203.0.113.1"]]])
        #expect(await refusal(production, "http://example.com/", resolver) == .schemeNotAllowed("http", allowed: ["https"]))
        #expect(await refusal(production, "https://localhost/", resolver) == .forbiddenHost("localhost", .loopback))
        #expect(resolver.lookups.withLock { $0.isEmpty })
    }

    @Test func allowListedHostsAndNetworksPass() async throws {
        let resolver = ScriptedResolver([
            "hooks.internal": [["10.1.2.3", "fd00::3"]],
            "billing.corp.example": [["10.20.0.9"]],
            "other.corp.example": [["10.20.0.9", "10.30.0.1"]],
        ])
        let policy = WebhookURLPolicy(allowList: try WebhookAllowList(entries: ["hooks.internal", "10.20.0.0/16"]))
        #expect(try await policy.resolveAndCheck("https://hooks.internal/", resolver: resolver).addresses.count == 2)
        #expect(try await policy.resolveAndCheck("https://billing.corp.example/", resolver: resolver).addresses.count == 1)
        #expect(await refusal(policy, "https://other.corp.example/", resolver)
            == .forbiddenAddress(host: "other.corp.example", address: WebhookIPAddress("10.30.0.1")!, range: .privateNetwork))
    }

    @Test func developmentReachesLoopbackOnly() async throws {
        let resolver = ScriptedResolver(["dev.test": [["127.0.0.1", "::1"]], "lan.test": [["192.168.1.20"]]])
        let development = WebhookURLPolicy(mode: .development)
        #expect(try await development.resolveAndCheck("http://dev.test:8080/", resolver: resolver).addresses.count == 2)
        #expect(await refusal(development, "http://lan.test/", resolver)?.code == "webhooks.url_forbidden")
    }

    @Test func aHostThatDoesNotResolveIsReportedSo() async {
        let nothing = ScriptedResolver(["empty.example.com": [[]]])
        #expect(await refusal(production, "https://empty.example.com/", nothing) == .unresolvable(host: "empty.example.com", reason: "no addresses"))
        let error = await refusal(production, "https://missing.example.com/", nothing)
        #expect(error == .unresolvable(host: "missing.example.com", reason: "Name or service not known"))
        #expect(error?.code == "webhooks.url_unresolvable")
    }

    @Test func theSystemResolverReadsTheHostsFile() async throws {
        let addresses = try await SystemWebhookHostResolver().resolve(host: "localhost")
        #expect(!addresses.isEmpty)
        #expect(addresses.allSatisfy { WebhookForbiddenRange.containing($0) == .loopback }, "\(addresses)")
        #expect(Set(addresses).count == addresses.count, "no duplicates")

        let development = WebhookURLPolicy(mode: .development)
        let destination = try await development.resolveAndCheck("http://localhost:8080/hook")
        #expect(destination.addresses == addresses)
    }

    /// `.invalid` never resolves (RFC 6761).
    @Test func theSystemResolverReportsAFailedLookup() async {
        do {
            _ = try await WebhookURLPolicy().resolveAndCheck("https://swiftlet-webhook-test.invalid/")
            Issue.record("a .invalid name resolved")
        } catch {
            guard case .unresolvable(let host, let reason) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(host == "swiftlet-webhook-test.invalid")
            #expect(!reason.isEmpty)
        }
    }
}
