import Foundation
import SwiftletCore
import Testing

@Suite("Revocation list")
struct RevocationListTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func tokenAndSessionRevocationsMatchUntilExpiry() {
        let list = RevocationList()
        list.add(Revocation(kind: .token, value: "j1", expiresAt: now.addingTimeInterval(60)))
        list.add(Revocation(kind: .session, value: "s1", expiresAt: now.addingTimeInterval(900)))
        #expect(list.isRevoked(tokenID: "j1", sessionID: SessionID(rawValue: "s9"), now: now))
        #expect(list.isRevoked(tokenID: "j9", sessionID: SessionID(rawValue: "s1"), now: now))
        #expect(!list.isRevoked(tokenID: "j9", sessionID: SessionID(rawValue: "s9"), now: now))
        #expect(!list.isRevoked(tokenID: "j1", sessionID: SessionID(rawValue: "s9"), now: now.addingTimeInterval(61)))
        #expect(!list.isRevoked(tokenID: "s1", sessionID: SessionID(rawValue: "j1"), now: now), "kinds do not mix")
    }

    @Test func laterExpiryWins() {
        let list = RevocationList()
        list.add(Revocation(kind: .session, value: "s1", expiresAt: now.addingTimeInterval(900)))
        list.add(Revocation(kind: .session, value: "s1", expiresAt: now.addingTimeInterval(10)))
        #expect(list.isRevoked(tokenID: "x", sessionID: SessionID(rawValue: "s1"), now: now.addingTimeInterval(100)))
    }
}
