import Foundation
import Testing

/// The realtime gateway across three processes sharing Redis: delivery to a user's
/// devices on other nodes, and an exact resume after the node holding a socket dies.
extension ThreeNodeRedisClusterTests {
    @Test("a direct message sent on node 1 reaches the recipient's devices on nodes 2 and 3, once, in order")
    func directMessageAcrossNodes() async throws {
        try await Self.withCluster { cluster, _ in
            let (alice, _) = try await Self.realtimeUser(cluster, "alice")
            let (bob, bobID) = try await Self.realtimeUser(cluster, "bob")
            let phone = try await TestWebSocket.connect(port: cluster.nodes[1].port, path: "/api/v1/realtime?device=phone", token: bob)
            let tablet = try await TestWebSocket.connect(port: cluster.nodes[2].port, path: "/api/v1/realtime?device=tablet", token: bob)
            for socket in [phone, tablet] {
                _ = try await socket.welcome()
                #expect(await socket.nextJSON()?["type"] as? String == "caught_up")
            }
            let sender = try await TestWebSocket.connect(port: cluster.nodes[0].port, token: alice)
            _ = try await sender.welcome()
            let start = ContinuousClock.now
            for index in 1...20 {
                let sent = try await sender.sendDirectMessage(to: bobID, text: "across \(index)", id: "x\(index)")
                #expect(sent["type"] as? String == "sent", "\(sent)")
            }
            for (name, socket) in [("node 2", phone), ("node 3", tablet)] {
                let received = await socket.messages(20)
                #expect(received.seqs == Array(1...20), "\(name) got \(received.seqs)\n\(cluster.output)")
                #expect(await socket.messages(1, timeout: .milliseconds(300)).isEmpty, "\(name): nothing twice")
            }
            print("20 direct messages from node 1 to devices on nodes 2 and 3: \(ContinuousClock.now - start)")
        }
    }

    @Test("kill -9 of the node holding a socket: the client reconnects through nginx to another node and resumes exactly")
    func resumeAfterNodeDies() async throws {
        try await Self.withCluster { cluster, _ in
            let (alice, _) = try await Self.realtimeUser(cluster, "alice")
            let (bob, bobID) = try await Self.realtimeUser(cluster, "bob")
            let total = 300
            let producer = Task {
                let sender = try await TestWebSocket.connect(port: cluster.nodes[0].port, token: alice)
                _ = try await sender.welcome()
                for index in 1...total {
                    let sent = try await sender.sendDirectMessage(to: bobID, text: "m\(index)", id: "k\(index)")
                    guard sent["type"] as? String == "sent" else { throw TestSetupError("send \(index): \(sent)") }
                }
            }
            var seen: [Int64] = []
            let doomed = try await TestWebSocket.connect(port: cluster.nodes[2].port, path: "/api/v1/realtime?device=phone", token: bob)
            _ = try await doomed.welcome()
            while seen.count < 40, let frame = await doomed.nextJSON() {
                if frame["type"] as? String == "message", let seq = (frame["seq"] as? NSNumber)?.int64Value { seen.append(seq) }
            }
            cluster.kill(node: 3)
            // Whatever was still in flight to the dead node is lost with it; the resume
            // must bring exactly what follows the last message shown.
            while let frame = await doomed.nextJSON(timeout: .milliseconds(200)) {
                if frame["type"] as? String == "message", let seq = (frame["seq"] as? NSNumber)?.int64Value { seen.append(seq) }
            }
            let resumed = try await TestWebSocket.connect(
                port: cluster.nginx.port, path: "/api/v1/realtime?device=phone&since=\(seen.last ?? 0)", token: bob)
            _ = try await resumed.welcome()
            while seen.last ?? 0 < Int64(total), let frame = await resumed.nextJSON(timeout: .seconds(20)) {
                if frame["type"] as? String == "message", let seq = (frame["seq"] as? NSNumber)?.int64Value { seen.append(seq) }
            }
            try await producer.value
            #expect(seen == Array(1...Int64(total)), "saw \(seen.count), last \(seen.last ?? 0)\n\(cluster.output)")
        }
    }

    /// A user logged in through node 1: access token and user id.
    static func realtimeUser(_ cluster: ClusterHarness, _ name: String) async throws -> (String, String) {
        let body = try await Self.node(cluster, 1).json(.POST, "/api/v1/auth/wechat/login",
                                                         json: #"{"code":"\#(name):\#(UUID().uuidString)"}"#)
        return (try #require(body["accessToken"] as? String), try #require((body["user"] as? [String: Any])?["id"] as? String))
    }
}

extension ThreeNodeRedisClusterTests {
    @Test("a room across three nodes: messages posted on node 1 reach followers on nodes 2 and 3; presence counts users once over the cluster")
    func roomAcrossNodes() async throws {
        try await Self.withCluster { cluster, _ in
            let (alice, _) = try await Self.realtimeUser(cluster, "alice")
            let (bob, _) = try await Self.realtimeUser(cluster, "bob")
            let room = try await Self.node(cluster, 1).json(.POST, "/api/v1/rooms", json: #"{"name":"everyone","policy":"open"}"#, token: alice)
            let roomID = try #require(room["id"] as? String)
            var sockets: [TestWebSocket] = []
            for (token, node, device) in [(alice, 0, "a"), (bob, 1, "b-phone"), (bob, 2, "b-tablet")] {
                let socket = try await TestWebSocket.connect(port: cluster.nodes[node].port, path: "/api/v1/realtime?device=\(device)", token: token)
                _ = try await socket.welcome()
                try await socket.send(json: ["type": "join", "room": roomID])
                _ = try #require(await socket.frame("joined"), "join on node \(node + 1)")
                sockets.append(socket)
            }
            for index in 1...10 {
                try await sockets[0].send(json: ["type": "room_send", "room": roomID, "text": "all \(index)", "clientMsgId": "all\(index)"])
                _ = try #require(await sockets[0].frame("room_sent"))
            }
            for (index, socket) in sockets.enumerated().dropFirst() {
                let offsets = await socket.roomMessages(10).map { $0["offset"] as? Int }
                #expect(offsets == Array(1...10).map { $0 }, "node \(index + 1): \(offsets)\n\(cluster.output)")
            }
            // Presence from node 3: alice (node 1) and bob (nodes 2 and 3), each once.
            try await ThreeNodeClusterTests.waitUntil("presence seen over the cluster", cluster, timeout: .seconds(5)) {
                let presence = try await Self.node(cluster, 3).json(.GET, "/api/v1/rooms/\(roomID)/presence", token: bob)
                return presence["online"] as? Int == 2
            }
        }
    }
}
