/// The receiving side every bus consumer shares: subscribe, hand each event over, and
/// subscribe again if the stream ends while the consumer still runs.
///
/// A stream that ends without the consumer being cancelled (its implementation shut its
/// subscription down) is reported as `.interrupted`, so the consumer falls back exactly
/// as it does when the connection drops, then subscribes again after one `pause`.
enum ClusterBusListener {
    static func listen(
        to channels: [String], on cluster: any ClusterState, pause: @Sendable () async throws -> Void,
        _ handle: (ClusterBusEvent) async -> Void
    ) async {
        while !Task.isCancelled {
            for await event in cluster.subscribe(to: channels) {
                await handle(event)
            }
            if Task.isCancelled { return }
            await handle(.interrupted)
            do { try await pause() } catch { return }
        }
    }
}
