import Foundation
import SwiftletCore
import Testing

/// Whether a user is connected on any node: the node's own answer at once, another
/// node's through the marks in the shared state.
@Suite("User presence")
struct UserPresenceTests {
    @Test("a user connected to one node is online for every node once it has marked them")
    func sharedThroughClusterState() async throws {
        let cluster = InProcessClusterState(clock: .system)
        let alice = UserID(rawValue: "u_alice")
        let bob = UserID(rawValue: "u_bob")
        let nodeA = UserPresence(cluster: cluster, localUsers: { [alice] }, isLocal: { $0 == alice }, logger: TestStorage.logger)
        let nodeB = UserPresence(cluster: cluster, localUsers: { [] }, isLocal: { _ in false }, logger: TestStorage.logger)
        #expect(await nodeA.isOnline(alice), "its own connection counts at once")
        #expect(await nodeB.isOnline(alice) == false, "another node knows once the marks are written")
        await nodeA.refresh()
        #expect(await nodeB.isOnline(alice))
        #expect(await nodeB.isOnline(bob) == false)
    }

    @Test("a mark expires when its node stops refreshing it")
    func marksExpire() async throws {
        let clock = MutableClock(Date())
        let cluster = InProcessClusterState(clock: clock.clock)
        let alice = UserID(rawValue: "u_alice")
        let nodeA = UserPresence(cluster: cluster, localUsers: { [alice] }, isLocal: { _ in false }, logger: TestStorage.logger,
                                 ttl: 45)
        await nodeA.refresh()
        #expect(await nodeA.isOnline(alice))
        clock.advance(46)
        #expect(await nodeA.isOnline(alice) == false)
    }
}
