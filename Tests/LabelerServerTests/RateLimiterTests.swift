import Testing

@testable import LabelerServer

/// createReport's per-client limit, on explicit clocks.
struct RateLimiterTests {
    @Test func atMostTheLimitInAnySixtySecondsEvenAcrossAMinutesEdge() {
        let limiter = RateLimiter(perMinute: 10)
        // A burst that straddles a wall-clock minute (59.5 s → 60.5 s): still 10, not 20.
        let burst = (0..<20).map { limiter.allow("a", now: 59.5 + Double($0) * 0.05) }
        #expect(burst.filter { $0 }.count == 10)
        #expect(burst.prefix(10).allSatisfy { $0 } && burst.suffix(10).allSatisfy { !$0 })
        // Another client is counted apart.
        #expect(limiter.allow("b", now: 60.6))
        // Each allowed call frees its place 60 s after it was made (59.5 s, 59.55 s, ...), not before.
        #expect(!limiter.allow("a", now: 119.49))
        #expect(limiter.allow("a", now: 119.5))
        #expect(!limiter.allow("a", now: 119.52))
        #expect(limiter.allow("a", now: 119.56))
        // After a quiet minute the whole limit is back.
        #expect((0..<10).allSatisfy { limiter.allow("a", now: 300 + Double($0)) })
        #expect(!limiter.allow("a", now: 310))
    }

    @Test func idleClientsAreForgottenAtMostOnceAWindow() {
        let limiter = RateLimiter(perMinute: 1)
        for i in 0...RateLimiter.pruneAbove { _ = limiter.allow("c\(i)", now: 0) }
        #expect(limiter.trackedClients == RateLimiter.pruneAbove + 1)
        // Over the threshold: the next call drops every client idle for a minute.
        #expect(limiter.allow("new", now: 61))
        #expect(limiter.trackedClients == 1)
        #expect(!limiter.allow("new", now: 62), "its own call is remembered")
        // A flood of fresh clients is pruned again only a window later.
        for i in 0...RateLimiter.pruneAbove { _ = limiter.allow("d\(i)", now: 70) }
        _ = limiter.allow("e", now: 80)
        #expect(limiter.trackedClients == RateLimiter.pruneAbove + 3, "not pruned again within the window")
        _ = limiter.allow("e2", now: 131)
        #expect(limiter.trackedClients == 2, "e (80) and e2 remain; the d flood (70) is gone")
    }
}
