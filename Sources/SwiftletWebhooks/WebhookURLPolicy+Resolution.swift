extension WebhookURLPolicy {
    /// Checks `url`, resolves its host, and checks every address it resolved to.
    ///
    /// The delivery calls this right before each attempt and connects to one of the
    /// returned addresses, so a host that now resolves somewhere forbidden (DNS rebinding
    /// since registration) is refused then, not only at registration. An IP literal is
    /// not resolved; an allow-listed host is resolved but its addresses are not checked.
    public func resolveAndCheck(
        _ url: String, resolver: some WebhookHostResolver = SystemWebhookHostResolver()
    ) async throws(WebhookURLError) -> WebhookDestination {
        let target = try check(url: url).get()
        if let address = target.address {
            return WebhookDestination(target: target, addresses: [address])
        }
        let addresses: [WebhookIPAddress]
        do {
            addresses = try await resolver.resolve(host: target.host)
        } catch let error as WebhookResolutionError {
            throw .unresolvable(host: target.host, reason: error.message)
        } catch {
            throw .unresolvable(host: target.host, reason: "\(error)")
        }
        return try check(addresses: addresses, of: target).get()
    }
}
