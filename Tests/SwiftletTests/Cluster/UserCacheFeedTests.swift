import Foundation
import SwiftletCore
import Testing

/// Per-node user caches kept consistent across nodes: writes are announced, announced
/// users are dropped, and the cache is bypassed whenever announcements may be missed.
@Suite("User cache feed", .timeLimit(.minutes(3)))
struct UserCacheFeedTests {
    /// One node's cache over shared storage, with its feed running until `stop()`.
    struct Node {
        let cache: CachedUserRepository
        let feed: ClusterCacheFeed
        let task: Task<Void, Never>

        init(cluster: any ClusterState, users: any UserRepository, ticker: ManualTicker = ManualTicker()) {
            let feed = ClusterCacheFeed.users(cluster: cluster, logger: TestStorage.logger, pause: ticker.pause)
            let cache = CachedUserRepository(users, lifetime: 600, clock: .system, onWrite: { feed.announce($0.rawValue) })
            self.feed = feed
            self.cache = cache
            task = Task { await feed.run(applyingTo: cache) }
        }

        func stop() async {
            task.cancel()
            await task.value
        }
    }

    @Test("a write on one node drops the entry on another", arguments: EngineKind.available)
    func remoteWritesDropEntries(_ kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let cluster = InProcessClusterState()
            let a = Node(cluster: cluster, users: storage.users)
            let b = Node(cluster: cluster, users: storage.users)
            try await waitUntil("both caching") { !a.cache.isBypassed && !b.cache.isBypassed }

            let user = try await storage.users.findOrCreate(openid: "o-feed", unionid: nil).user
            #expect(try await b.cache.find(id: user.id)?.nickname == nil)
            #expect(b.cache.cachedUser(id: user.id) != nil, "B holds the row")

            _ = try await a.cache.updateProfile(id: user.id, ProfileUpdate(nickname: "Ada"))
            try await waitUntil("B dropped its entry") { b.cache.cachedUser(id: user.id) == nil }
            #expect(try await b.cache.find(id: user.id)?.nickname == "Ada")

            _ = try await a.cache.updatePhone(id: user.id, phone: "13800000000")
            try await waitUntil("B dropped it again") { b.cache.cachedUser(id: user.id) == nil }
            #expect(try await b.cache.find(id: user.id)?.phone == "13800000000")
            await a.stop()
            await b.stop()
        }
    }

    @Test("every write is announced on the bus with the user id")
    func writesAreAnnounced() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let cluster = InProcessClusterState()
            var heard = cluster.subscribe(to: [ClusterCacheFeed.usersChannel]).makeAsyncIterator()
            #expect(await heard.next() == .subscribed)
            let node = Node(cluster: cluster, users: storage.users)

            // A new user, or a login without a unionid, changes no row another node holds.
            let user = try await node.cache.findOrCreate(openid: "o-announce", unionid: nil).user
            _ = try await node.cache.findOrCreate(openid: "o-announce", unionid: nil)
            try await cluster.publish("sentinel", on: ClusterCacheFeed.usersChannel)
            #expect(await heard.next() == .message(channel: ClusterCacheFeed.usersChannel, payload: "sentinel"), "nothing announced before")
            // A login with a unionid may fill it in: announced.
            _ = try await node.cache.findOrCreate(openid: "o-announce", unionid: "un-announce")
            #expect(await heard.next() == .message(channel: ClusterCacheFeed.usersChannel, payload: user.id.rawValue))
            _ = try await node.cache.updateProfile(id: user.id, ProfileUpdate(nickname: "N"))
            #expect(await heard.next() == .message(channel: ClusterCacheFeed.usersChannel, payload: user.id.rawValue))
            _ = try await node.cache.updatePhone(id: user.id, phone: "13900000000")
            #expect(await heard.next() == .message(channel: ClusterCacheFeed.usersChannel, payload: user.id.rawValue))
            await node.stop()
        }
    }

    @Test("while the bus is interrupted reads go to the database; back, the cache starts empty", arguments: EngineKind.available)
    func bypassedWhileInterrupted(_ kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let bus = SwitchableClusterState(base: InProcessClusterState())
            let node = Node(cluster: bus, users: storage.users)
            let user = try await storage.users.findOrCreate(openid: "o-outage", unionid: nil).user
            // Caching once the feed has started and heard its first subscription (until
            // then a read may overlap the feed's own bypass-then-resume and not be kept).
            try await waitUntil("caching") {
                _ = try await node.cache.find(id: user.id)
                return node.cache.cachedUser(id: user.id) != nil
            }

            bus.setDown(true)
            try await waitUntil("bypassed") { node.cache.isBypassed }
            #expect(node.cache.cachedUser(id: user.id) == nil, "nothing is served from memory")
            // Another node writes; its announcement is lost with the bus.
            _ = try await storage.users.updateProfile(id: user.id, ProfileUpdate(nickname: "During"))
            #expect(try await node.cache.find(id: user.id)?.nickname == "During", "read from the database")
            #expect(node.cache.cachedUser(id: user.id) == nil, "and not stored")

            bus.setDown(false)
            try await waitUntil("caching again") { !node.cache.isBypassed }
            #expect(try await node.cache.find(id: user.id)?.nickname == "During")
            #expect(node.cache.cachedUser(id: user.id)?.nickname == "During", "cached again once the bus is back")
            await node.stop()
        }
    }

    /// An entry cached while subscribed must not survive a reconnect: announcements made
    /// in between were missed.
    @Test("a resubscribe empties the cache")
    func resubscribeEmptiesTheCache() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let cluster = InProcessClusterState()
            let feed = ClusterCacheFeed.users(cluster: cluster, logger: TestStorage.logger, pause: ManualTicker().pause)
            let cache = CachedUserRepository(storage.users, lifetime: 600, clock: .system)
            let user = try await storage.users.findOrCreate(openid: "o-resub", unionid: nil).user
            #expect(!cache.isBypassed, "a cache without a feed caches from the start")
            _ = try await cache.find(id: user.id)
            #expect(cache.cachedUser(id: user.id) != nil)

            let task = Task { await feed.run(applyingTo: cache) }
            // The feed starts bypassed and resumes on `.subscribed`, emptying the cache.
            try await waitUntil("subscribed") { cluster.subscriberCount == 1 && !cache.isBypassed }
            #expect(cache.cachedUser(id: user.id) == nil)
            task.cancel()
            await task.value
        }
    }
}
