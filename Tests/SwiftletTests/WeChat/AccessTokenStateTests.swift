import SwiftletWeChat
import Testing

@Suite("Access token state")
struct AccessTokenStateTests {
    let t0 = ContinuousClock.now

    @Test func oneRefreshAtATime() {
        var state = AccessTokenState()
        #expect(state.request(now: t0) == .refresh)
        #expect(state.request(now: t0) == .wait, "a second caller waits instead of refreshing again")
        state.refreshFinished(value: "A", expiresIn: .seconds(7200), margin: .seconds(300), now: t0)
        #expect(state.request(now: t0 + .seconds(10)) == .use("A"))
    }

    @Test func refreshesBeforeExpiry() {
        var state = AccessTokenState()
        _ = state.request(now: t0)
        state.refreshFinished(value: "A", expiresIn: .seconds(7200), margin: .seconds(300), now: t0)
        #expect(state.request(now: t0 + .seconds(6899)) == .use("A"))
        #expect(state.request(now: t0 + .seconds(6900)) == .refresh, "5 minutes before expiry")
    }

    @Test func shortLivedTokensAreRefreshedAtHalfLife() {
        var state = AccessTokenState()
        _ = state.request(now: t0)
        state.refreshFinished(value: "A", expiresIn: .seconds(400), margin: .seconds(300), now: t0)
        #expect(state.request(now: t0 + .seconds(199)) == .use("A"))
        #expect(state.request(now: t0 + .seconds(200)) == .refresh)
    }

    @Test func failedRefreshLetsTheNextCallerTry() {
        var state = AccessTokenState()
        _ = state.request(now: t0)
        state.refreshFailed()
        #expect(state.request(now: t0) == .refresh)
    }

    @Test func onlyTheRejectedTokenIsDropped() {
        var state = AccessTokenState()
        _ = state.request(now: t0)
        state.refreshFinished(value: "B", expiresIn: .seconds(7200), margin: .seconds(300), now: t0)
        state.invalidate("A")
        #expect(state.request(now: t0) == .use("B"), "a late rejection of an older token keeps the new one")
        state.invalidate("B")
        #expect(state.request(now: t0) == .refresh)
    }

    @Test func errcodesMapToTypedErrors() {
        #expect(WeChatError.fromErrcode(40029, errmsg: "") == .invalidCode)
        #expect(WeChatError.fromErrcode(40163, errmsg: "") == .codeUsed)
        #expect(WeChatError.fromErrcode(45011, errmsg: "") == .rateLimited)
        #expect(WeChatError.fromErrcode(40226, errmsg: "") == .highRiskUser)
        #expect(WeChatError.fromErrcode(-1, errmsg: "") == .busy)
        #expect(WeChatError.fromErrcode(40001, errmsg: "").isStaleAccessToken)
        #expect(WeChatError.fromErrcode(42001, errmsg: "").isStaleAccessToken)
        #expect(WeChatError.fromErrcode(12345, errmsg: "x") == .api(errcode: 12345, errmsg: "x"))
    }
}
