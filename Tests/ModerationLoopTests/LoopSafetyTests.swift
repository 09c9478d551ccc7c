import AsyncHTTPClient
import Foundation
import ModerationLoop
import Testing

/// What the loop must never do: act on another deployment's flags, pass as a human, follow a
/// redirect with its keys, print the webhook's secret, or miss the oldest flags.
struct LoopSafetyTests {
    static let staging1 = trackURI(11, collection: "fm.plyr.stg.track")
    static let prod2 = trackURI(12, collection: "fm.plyr.track")

    @Test func onlyTheFlagsOfTheSelectedEnvironmentAreProcessedAndResolvedAsTheLoop() async throws {
        try await LabelerFixture.run { l in
            // Same track ids in three deployments: each API knows only its own.
            try await l.flag(trackURI(1), trackId: 1, title: "dev-gone")
            try await l.flag(Self.staging1, trackId: 1, title: "stg-1")
            try await l.flag(Self.prod2, trackId: 2, title: "prod-2")
            try await l.flag(trackURI(2), trackId: 2, title: "dev-2")
            try await FakeServer.run(trackAPI(deleted: [1, 2])) { devTracks in
                let run = try await LoopRun.run(labeler: l, tracks: devTracks.url, dryRun: false)
                #expect(run.report.exitCode == 0, "\(run.report.errors)")
                #expect(run.report.pending == 4)
                #expect(Set(run.report.flags.map(\.uri)) == [trackURI(1), trackURI(2)])
                #expect(run.report.skipped == [
                    .init(uri: Self.staging1, reason: "other environment (staging)"),
                    .init(uri: Self.prod2, reason: "other environment (prod)"),
                ])
                #expect(devTracks.requests.count == 2, "the dev API is asked only about dev tracks")
                #expect(run.text.contains("2 of another environment skipped (1 prod, 1 staging): this run is --env dev"), "\(run.text)")
                #expect(run.report.json().contains(#""reason" : "other environment (staging)""#))
                let resolved = try await l.flags("resolved")
                #expect(Set(resolved.keys) == [trackURI(1), trackURI(2)])
                #expect(Set(try await l.flags("pending").keys) == [Self.staging1, Self.prod2])
                // Finding 5: recorded as the program's decision, not an admin's.
                let by = (resolved[trackURI(1)]?["resolution"] as? [String: Any])?["by"] as? String
                #expect(by == "loop")
            }
            // The staging run, against a staging API where track 1 exists: nothing resolved.
            try await FakeServer.run(trackAPI()) { stgTracks in
                let run = try await LoopRun.run(labeler: l, tracks: stgTracks.url, env: .staging)
                #expect(run.report.flags.map(\.uri) == [Self.staging1])
                #expect(run.report.skipped.map(\.uri) == [Self.prod2])
                #expect(stgTracks.requests.map(\.path) == ["/tracks/1"])
                #expect(run.flag(Self.staging1).track == .exists(status: 200))
                #expect(Set(try await l.flags("pending").keys) == [Self.staging1, Self.prod2])
            }
        }
    }

    @Test func environmentOfAURIFollowsItsCollection() {
        #expect(LoopEnvironment.of(uri: "at://did:plc:a/fm.plyr.track/1") == .prod)
        #expect(LoopEnvironment.of(uri: "at://did:plc:a/fm.plyr.stg.track/1") == .staging)
        #expect(LoopEnvironment.of(uri: "at://did:plc:a/fm.plyr.dev.track/1") == .dev)
        #expect(LoopEnvironment.of(uri: "at://did:plc:a/app.bsky.feed.post/1") == nil)
        #expect(LoopEnvironment.of(uri: "did:plc:a") == nil)
    }

    @Test func aTrackAPIRedirectIsNotFollowedAndKeepsTheFlag() async throws {
        try await LabelerFixture.run { l in
            try await l.flag(trackURI(1), trackId: 1, title: "t")
            try await FakeServer.run({ _ in (404, #"{"detail":"track not found"}"#) }) { elsewhere in
                try await FakeServer.run({ r in (302, elsewhere.url + r.path) }) { tracks in
                    let run = try await LoopRun.run(labeler: l, tracks: tracks.url)
                    #expect(tracks.requests.count == 1)
                    #expect(elsewhere.requests.isEmpty, "the redirect was followed")
                    #expect(run.flag(trackURI(1)).track == .unexpected(status: 302))
                    #expect(try await l.flags("resolved").isEmpty)
                }
            }
        }
    }

    @Test func aLabelerRedirectDoesNotCarryTheKeyAnywhere() async throws {
        try await LabelerFixture.run { l in
            try await l.flag(trackURI(1), trackId: 1, title: "t")
            try await FakeServer.run({ _ in (200, #"{"tracks":[]}"#) }) { sink in
                try await FakeServer.run({ r in (307, sink.url + r.path) }) { redirector in
                    let run = try await LoopRun.run(labeler: l, tracks: refusingURL, serviceURL: redirector.url)
                    #expect(run.report.exitCode == LoopExit.labelerUnavailable)
                    #expect(run.report.errors.first?.contains("307") == true, "\(run.report.errors)")
                    #expect(redirector.requests.first?.headers["x-moderation-key"] == l.token)
                    #expect(sink.requests.isEmpty, "the key went to the redirect target")
                }
            }
        }
    }

    @Test func theWebhookURLIsShownAsSchemeAndHostOnly() async throws {
        let secret = "T0001/B0002/s3cr3t-hook-token"
        try await LabelerFixture.run { l in
            try await l.flag(trackURI(3), trackId: 3, title: "viol")
            try await FakeServer.run(trackAPI()) { tracks in
                try await FakeServer.run({ _ in (500, #"{"error":"boom"}"#) }) { hook in
                    let url = hook.url + "/services/" + secret + "?key=also-secret"
                    let run = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: ["NOTIFY_WEBHOOK_URL": url])
                    #expect(hook.requests("/services/" + secret).count == 1, "delivered to the full URL")
                    #expect(run.report.exitCode == LoopExit.actionFailed)
                    #expect(run.report.notifiers == ["webhook \(hook.url)"])
                    #expect(run.text.contains("notify     webhook \(hook.url)"), "\(run.text)")
                    #expect(run.report.errors.contains { $0.contains("webhook \(hook.url) answered 500") }, "\(run.report.errors)")
                    for shown in [run.text, run.report.json(), run.report.errors.joined()] {
                        #expect(!shown.contains("s3cr3t") && !shown.contains("also-secret") && !shown.contains("/services"))
                    }
                }
            }
            // Unreachable, and invalid: the errors do not carry it either.
            try await FakeServer.run(trackAPI()) { tracks in
                try await l.flag(trackURI(4), trackId: 4, title: "viol")
                let run = try await LoopRun.run(
                    labeler: l, tracks: tracks.url, environment: ["NOTIFY_WEBHOOK_URL": refusingURL + "/hook/" + secret])
                #expect(!run.report.errors.isEmpty && !run.report.errors.joined().contains("s3cr3t"), "\(run.report.errors)")
            }
        }
        #expect(throws: SettingsError.self) {
            try LoopSettings.resolve(environment: ["MODERATION_AUTH_TOKEN": "k", "NOTIFY_WEBHOOK_URL": "ftp://h/\(secret)"], env: .dev)
        }
        do {
            _ = try LoopSettings.resolve(environment: ["MODERATION_AUTH_TOKEN": "k", "NOTIFY_WEBHOOK_URL": "ftp://h/\(secret)"], env: .dev)
        } catch {
            #expect("\(error)".contains("NOTIFY_WEBHOOK_URL is not an http(s) URL") && !"\(error)".contains("s3cr3t"))
        }
        #expect(WebhookNotifier.redacted("https://user:pw@hooks.slack.com:8443/services/x?y=z#f") == "https://hooks.slack.com:8443")
    }

    @Test func pendingFlagsArePagedOldestFirstPastAnyPageSize() async throws {
        try await LabelerFixture.run { l in
            for n in 1...5 { try await l.flag(trackURI(n), trackId: Int64(n), title: "t\(n)") }
            try await l.post("/admin/resolve", ["uri": trackURI(2), "reason": "other"])
            let client = HTTPClient.forLoop()
            let api = LabelerAPI(baseURL: l.url, token: l.token, http: HTTPExchange(client: client, timeout: .seconds(5)))
            let flags = try await api.pendingFlags(pageSize: 2)
            try await client.shutdown()
            #expect(flags.map(\.uri) == [1, 3, 4, 5].map(trackURI))

            // The route: oldest first with a cursor while more follow; newest first by default.
            let first = try await l.get("/admin/flags?filter=pending&order=oldest&limit=2")
            #expect((first["tracks"] as! [[String: Any]]).map { $0["uri"] as! String } == [trackURI(1), trackURI(3)])
            let cursor = try #require(first["cursor"] as? NSNumber).uint64Value
            let second = try await l.get("/admin/flags?filter=pending&order=oldest&limit=2&cursor=\(cursor)")
            #expect((second["tracks"] as! [[String: Any]]).map { $0["uri"] as! String } == [trackURI(4), trackURI(5)])
            #expect(second["cursor"] == nil)
            let newest = try await l.get("/admin/flags?filter=pending")
            #expect((newest["tracks"] as! [[String: Any]]).map { $0["uri"] as! String } == [5, 4, 3, 1].map(trackURI))
            #expect(newest["cursor"] == nil)
            let newestFirstPage = try await l.get("/admin/flags?filter=all&limit=3")
            #expect((newestFirstPage["tracks"] as! [[String: Any]]).map { $0["uri"] as! String } == [5, 4, 3].map(trackURI))
            #expect(newestFirstPage["cursor"] != nil)
            let newestPage = try await l.get("/admin/flags?filter=all&limit=2&cursor=\(cursor)")
            #expect((newestPage["tracks"] as! [[String: Any]]).map { $0["uri"] as! String } == [trackURI(2), trackURI(1)])

            for bad in ["order=sideways", "limit=0", "limit=10001", "limit=x", "cursor=-1", "cursor=abc", "filter=nope"] {
                let (status, body) = try await l.raw("/admin/flags?\(bad)")
                #expect(status == 400 && body.contains("InvalidRequest"), "\(bad): \(status) \(body)")
            }
        }
    }
}
