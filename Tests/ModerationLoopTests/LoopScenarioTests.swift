import Foundation
import ModerationLoop
import Synchronization
import Testing

/// The loop against a real labeler and local fakes of the track API, Claude and the Bluesky PDS.
struct LoopScenarioTests {
    static let model = "claude-test-model"
    static var anthropicEnv: [String: String] { ["ANTHROPIC_API_KEY": AnthropicScript.key, "ANTHROPIC_MODEL": model] }

    /// Seven flags, one of each kind the loop meets.
    static func seed(_ l: LabelerFixture) async throws {
        try await l.flag(trackURI(1), trackId: 1, title: "human-gone")          // track deleted
        try await l.flag(trackURI(2), trackId: 2, title: "fp-noise")            // Claude: false positive
        try await l.flag(trackURI(3), trackId: 3, title: "viol-ripped")         // Claude: violation
        try await l.flag(trackURI(4), trackId: 4, title: "human-cover")         // Claude: needs a human
        try await l.flag(trackURI(5), trackId: 5, title: "viol-own-song", handle: "daftpunk.bsky.social")  // rules: the artist
        try await l.flag(trackURI(6), trackId: 6, title: "human-api-500")       // track API 500: kept
        try await l.flag(trackURI(7), trackId: nil, title: "viol-no-track-id")  // no track id: kept
    }

    @Test func deletedResolvedFalsePositivesResolvedTheRestBatchedAndTheDMCarriesTheLink() async throws {
        try await LabelerFixture.run { l in
            try await Self.seed(l)
            try await FakeServer.run(trackAPI(deleted: [1], broken: [6: 500])) { tracks in
                try await FakeServer.run(AnthropicScript.byTitle.handler) { claude in
                    try await FakeServer.run(FakePDS.handler) { pds in
                        var env = Self.anthropicEnv.merging(FakePDS.environment) { $1 }
                        env["ANTHROPIC_BASE_URL"] = claude.url
                        env["NOTIFY_PDS_URL"] = pds.url
                        let run = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: env)
                        let r = run.report
                        #expect(r.exitCode == 0 && r.errors.isEmpty, "\(r.errors)\n\(run.text)")

                        // Step 2: only the 404 is resolved, as content_deleted; a 500 keeps the flag.
                        let deleted = try await l.resolution(trackURI(1))
                        #expect(deleted?.0 == "content_deleted" && deleted?.1?.contains("no longer exists") == true)
                        #expect(Set(tracks.requests.map(\.path)) == Set((1...6).map { "/tracks/\($0)" }))
                        #expect(run.flag(trackURI(6)).track == .unexpected(status: 500))

                        // Step 3: the rules decided #5, so Claude never saw it (nor the deleted #1).
                        let calls = claude.requests
                        #expect(calls.count == 1)
                        let call = try #require(calls.first)
                        #expect(call.headers["x-api-key"] == AnthropicScript.key)
                        #expect(call.headers["anthropic-version"] == "2023-06-01")
                        #expect(call.json["model"] as? String == Self.model)
                        #expect((call.json["tool_choice"] as? [String: Any])?["name"] as? String == "record_verdicts")
                        let asked = Set(AnthropicScript.flags(in: call).map { $0["uri"] as! String })
                        #expect(asked == Set([2, 3, 4, 6, 7].map(trackURI)))

                        // Step 4: false positives resolved with the analyzer's reason in the notes.
                        let fp = try await l.resolution(trackURI(2))
                        #expect(fp?.0 == "fingerprint_noise")
                        #expect(fp?.1 == "moderation loop (\(Self.model)): scripted: fp-noise")
                        let own = try await l.resolution(trackURI(5))
                        #expect(own?.0 == "original_artist")
                        #expect(own?.1?.contains("@daftpunk.bsky.social is the credited artist") == true, "\(String(describing: own))")

                        // Step 5: violations and unsure flags in one batch; the DM carries its link.
                        let batch = try #require(r.batch)
                        #expect(Set(try await l.batchURIs(batch.id)) == Set([3, 4, 6, 7].map(trackURI)))
                        let link = "\(l.url)/admin/review/\(batch.id)"
                        #expect(r.batchURL == link)
                        #expect(FakePDS.sent(pds) == ["[PLYR-MOD:DEV] 4 need review (2 violations, 2 unsure):\n\(link)"])
                        #expect(pds.requests.map(\.path) == [
                            "/xrpc/com.atproto.server.createSession", "/xrpc/com.atproto.identity.resolveHandle",
                            "/xrpc/chat.bsky.convo.getConvoForMembers", "/xrpc/chat.bsky.convo.sendMessage",
                        ])
                        #expect(Set(try await l.flags("pending").keys) == Set([3, 4, 6, 7].map(trackURI)))

                        // The terminal output: steps as they happened, then the table.
                        #expect(run.text.contains("2. deleted tracks"))
                        #expect(run.text.contains("\(trackURI(1))  track 1: deleted (404)"))
                        #expect(run.text.contains("notified Bluesky DM to @\(FakePDS.recipient)"))
                        #expect(run.text.contains("7 pending · 7 processed · 3 resolved (1 deleted, 2 false positive) · 4 in review batch"))

                        // A second run leaves the flags waiting in the batch alone: no new batch, no second DM.
                        let again = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: env)
                        #expect(again.report.exitCode == 0 && again.report.awaitingReview == 4 && again.report.flags.isEmpty)
                        #expect(again.report.batch == nil && FakePDS.sent(pds).count == 1 && claude.requests.count == 1)
                        #expect(again.text.contains("4 already waiting in review batch \(link): not processed again"))
                    }
                }
            }
        }
    }

    @Test func malformedLLMOutputSendsEveryAnalyzedFlagToHumanReview() async throws {
        try await LabelerFixture.run { l in
            try await Self.seed(l)
            try await FakeServer.run(trackAPI(deleted: [1])) { tracks in
                try await FakeServer.run(AnthropicScript.text("Sure! These all look like false positives to me.").handler) { claude in
                    let env = Self.anthropicEnv.merging(["ANTHROPIC_BASE_URL": claude.url]) { $1 }
                    let run = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: env)
                    #expect(run.report.exitCode == 0)
                    #expect(run.report.warnings.contains { $0.contains("did not parse") }, "\(run.report.warnings)")
                    // Nothing Claude saw was resolved; the deleted track and the rule's decision stand.
                    let resolved = try await l.flags("resolved")
                    #expect(Set(resolved.keys) == [trackURI(1), trackURI(5)])
                    let batch = try #require(run.report.batch)
                    #expect(Set(try await l.batchURIs(batch.id)) == Set([2, 3, 4, 6, 7].map(trackURI)))
                    #expect(run.flag(trackURI(2)).verdict?.category == .needsHuman)
                    // No notifier configured: the notice is printed.
                    #expect(run.text.contains("[PLYR-MOD:DEV] 5 need review (5 unsure):\n\(l.url)/admin/review/\(batch.id)"))
                }
            }
        }
    }

    @Test func anAnswerNamingUnknownURIsOrMissingFlagsSendsThoseToHumans() async throws {
        try await LabelerFixture.run { l in
            try await l.flag(trackURI(2), trackId: 2, title: "a")
            try await l.flag(trackURI(3), trackId: 3, title: "b")
            try await l.flag(trackURI(4), trackId: 4, title: "c")
            let answer = json(["verdicts": [
                ["uri": trackURI(2), "category": "FALSE_POSITIVE", "reason": "unrelated matches"],
                ["uri": "at://did:plc:other/fm.plyr.track/3kunknown", "category": "FALSE_POSITIVE", "reason": "made up"],
                ["uri": trackURI(4), "category": "MAYBE", "reason": "hmm"],
            ]])
            try await FakeServer.run(trackAPI()) { tracks in
                try await FakeServer.run(AnthropicScript.toolInput(answer).handler) { claude in
                    let env = Self.anthropicEnv.merging(["ANTHROPIC_BASE_URL": claude.url]) { $1 }
                    let run = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: env)
                    #expect(try await l.resolution(trackURI(2))?.0 == "fingerprint_noise")
                    #expect(run.flag(trackURI(3)).verdict?.reason == "the model gave no verdict for this flag")
                    #expect(run.flag(trackURI(4)).verdict?.reason.contains("unknown category") == true)
                    #expect(run.report.warnings.contains { $0.contains("3kunknown") })
                    #expect(Set(try await l.batchURIs(try #require(run.report.batch).id)) == [trackURI(3), trackURI(4)])
                    #expect(try await l.flags("resolved").count == 1)
                }
            }
        }
    }

    @Test func pdsDownLeavesTheBatchAndFailsNamingIt() async throws {
        try await LabelerFixture.run { l in
            try await l.flag(trackURI(3), trackId: 3, title: "viol-x")
            try await FakeServer.run(trackAPI()) { tracks in
                let env = FakePDS.environment.merging(["NOTIFY_PDS_URL": refusingURL]) { $1 }
                let run = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: env)
                #expect(run.report.exitCode == LoopExit.actionFailed)
                let batch = try #require(run.report.batch)
                let link = "\(l.url)/admin/review/\(batch.id)"
                let error = try #require(run.report.errors.first)
                #expect(error.contains("createSession") && error.contains("connection refused"), "\(error)")
                #expect(error.hasSuffix("The next run sends its notice again. The review batch exists: \(link)"), "\(error)")
                #expect(try await l.batchURIs(batch.id) == [trackURI(3)])
                #expect(run.report.notifications.first?.delivered == false)
                #expect(try await l.get("/admin/review/\(batch.id)/data")["announced_at"] is NSNull)

                // The next run, with the PDS back: the flag waits in the batch (not batched again),
                // and the batch's link is sent again, once.
                try await FakeServer.run(FakePDS.handler) { pds in
                    let up = FakePDS.environment.merging(["NOTIFY_PDS_URL": pds.url]) { $1 }
                    let dry = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: up, dryRun: true)
                    #expect(dry.text.contains("would send again the notice of batch \(batch.id)") && FakePDS.sent(pds).isEmpty)
                    let again = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: up)
                    #expect(again.report.exitCode == 0 && again.report.batch == nil, "\(again.text)")
                    #expect(FakePDS.sent(pds) == ["[PLYR-MOD:DEV] 1 still need review (sent again: no delivered notice is recorded for this batch):\n\(link)"])
                    #expect(again.report.notifications.map(\.resent) == [true])
                    let data = try await l.get("/admin/review/\(batch.id)/data")
                    #expect(data["announced_at"] is String && (data["announced_to"] as? [String])?.first?.hasPrefix("Bluesky DM to @alice.test") == true)
                    let third = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: up)
                    #expect(third.report.exitCode == 0 && FakePDS.sent(pds).count == 1, "announced once")
                }
            }
        }
    }

    @Test func dryRunChangesNothingAndSaysWhatItWouldDo() async throws {
        try await LabelerFixture.run { l in
            try await Self.seed(l)
            let before = try await l.head
            try await FakeServer.run(trackAPI(deleted: [1])) { tracks in
                try await FakeServer.run(AnthropicScript.byTitle.handler) { claude in
                    try await FakeServer.run(FakePDS.handler) { pds in
                        var env = Self.anthropicEnv.merging(FakePDS.environment) { $1 }
                        env["ANTHROPIC_BASE_URL"] = claude.url
                        env["NOTIFY_PDS_URL"] = pds.url
                        let run = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: env, dryRun: true)
                        #expect(run.report.exitCode == 0)
                        #expect(try await l.head == before)
                        #expect(try await l.flags("pending").count == 7)
                        #expect(pds.requests.isEmpty, "a dry run does not even log in")
                        #expect(run.report.batch == nil)
                        #expect(run.flag(trackURI(1)).action == .wouldResolve && run.flag(trackURI(1)).resolution == "content_deleted")
                        #expect(run.flag(trackURI(2)).action == .wouldResolve && run.flag(trackURI(2)).resolution == "fingerprint_noise")
                        #expect(run.flag(trackURI(3)).action == .wouldBatch)
                        #expect(run.text.contains("DRY RUN"))
                        #expect(run.text.contains("would create a review batch of 4 flag(s) and notify Bluesky DM to @\(FakePDS.recipient)"))
                    }
                }
            }
        }
    }

    @Test func withoutAnLLMOnlyTheRulesDecideAndTheRestGoesToHumans() async throws {
        try await LabelerFixture.run { l in
            try await Self.seed(l)
            try await FakeServer.run(trackAPI(deleted: [1])) { tracks in
                try await FakeServer.run({ _ in (200, "{}") }) { hook in
                    let run = try await LoopRun.run(labeler: l, tracks: tracks.url, environment: ["NOTIFY_WEBHOOK_URL": hook.url + "/hook"])
                    #expect(run.report.exitCode == 0)
                    #expect(Set(try await l.flags("resolved").keys) == [trackURI(1), trackURI(5)])
                    let batch = try #require(run.report.batch)
                    #expect(try await l.batchURIs(batch.id).count == 5)
                    #expect(run.flag(trackURI(2)).verdict?.reason.contains("ANTHROPIC_API_KEY") == true)
                    let posted = try #require(hook.requests("/hook").first).json
                    #expect(posted["batch_url"] as? String == "\(l.url)/admin/review/\(batch.id)")
                    #expect((posted["text"] as? String)?.hasPrefix("[PLYR-MOD:DEV] 5 need review") == true)
                    #expect(posted["flag_count"] as? Int == 5)
                }
            }
        }
    }

    /// Two runs at once: while this one checks the tracks, "another run" batches two of the flags.
    /// They are left out of this run's batch (the labeler decides), reported as batched elsewhere,
    /// and not announced twice; when every flag was taken, no batch and no notice at all.
    @Test func flagsAnotherRunBatchedMeanwhileAreNotBatchedOrAnnouncedTwice() async throws {
        try await LabelerFixture.run { l in
            for n in 1...3 { try await l.flag(trackURI(n), trackId: Int64(n), title: "human-\(n)") }
            let other = Mutex<String?>(nil)
            let tracks = trackAPI()
            let racing: FakeServer.Handler = { r in
                if other.withLock({ $0 == nil }) {
                    let b = try? await l.post("/admin/batches", ["uris": [trackURI(1), trackURI(2)], "created_by": "moderation-loop"])
                    other.withLock { $0 = b?["id"] as? String ?? "failed" }
                }
                return await tracks(r)
            }
            try await FakeServer.run(racing) { api in
                try await FakeServer.run({ _ in (200, "{}") }) { hook in
                    let run = try await LoopRun.run(labeler: l, tracks: api.url, environment: ["NOTIFY_WEBHOOK_URL": hook.url + "/hook"])
                    #expect(run.report.exitCode == 0, "\(run.text)")
                    let otherId = try #require(other.withLock { $0 })
                    let batch = try #require(run.report.batch)
                    #expect(batch.id != otherId && batch.flagCount == 1)
                    #expect(try await l.batchURIs(batch.id) == [trackURI(3)])
                    #expect(run.flag(trackURI(1)).action == .batchedElsewhere && run.flag(trackURI(2)).action == .batchedElsewhere)
                    #expect(run.flag(trackURI(3)).action == .batched)
                    #expect(run.text.contains("2 flag(s) were put in a review batch by another run meanwhile"))
                    #expect((try #require(hook.requests("/hook").first).json["flag_count"]) as? Int == 1)
                }
            }
        }
        try await LabelerFixture.run { l in
            for n in 1...2 { try await l.flag(trackURI(n), trackId: Int64(n), title: "human-\(n)") }
            let taken = Mutex(false)
            let tracks = trackAPI()
            let racing: FakeServer.Handler = { r in
                if !taken.withLock({ let was = $0; $0 = true; return was }) {
                    _ = try? await l.post("/admin/batches", ["uris": [trackURI(1), trackURI(2)], "created_by": "moderation-loop"])
                }
                return await tracks(r)
            }
            try await FakeServer.run(racing) { api in
                try await FakeServer.run({ _ in (200, "{}") }) { hook in
                    let before = try await l.head
                    let run = try await LoopRun.run(labeler: l, tracks: api.url, environment: ["NOTIFY_WEBHOOK_URL": hook.url + "/hook"])
                    #expect(run.report.exitCode == 0 && run.report.batch == nil, "\(run.text)")
                    #expect(run.report.flags.allSatisfy { $0.action == .batchedElsewhere })
                    #expect(hook.requests("/hook").isEmpty, "the other run announces its own batch")
                    #expect(try await l.head == before + 1, "only the other run's batch was appended")
                }
            }
        }
    }

    @Test func aTrackAPIAnswering404ForEverythingIsDoubtedAndAnUnreachableOneKeepsFlags() async throws {
        try await LabelerFixture.run { l in
            for n in 1...4 { try await l.flag(trackURI(n), trackId: Int64(n), title: "t\(n)") }
            try await FakeServer.run(trackAPI(deleted: [1, 2, 3, 4])) { tracks in
                let run = try await LoopRun.run(labeler: l, tracks: tracks.url, dryRun: true)
                #expect(run.report.flags.allSatisfy { $0.resolution == nil })
                #expect(run.report.warnings.contains { $0.contains("probably wrong") })
            }
            // Unreachable: kept; after three failures in a row the rest are not asked.
            let before = try await l.head
            let run = try await LoopRun.run(labeler: l, tracks: refusingURL)
            #expect(run.report.flags.map(\.track?.code) == ["unreachable", "unreachable", "unreachable", "skipped"])
            #expect(try await l.flags("resolved").isEmpty)
            #expect(try await l.head == before + 2, "only the review batch and its announcement (standard output) were appended")
        }
    }

    @Test func limitCapsTheFlagsProcessed() async throws {
        try await LabelerFixture.run { l in
            for n in 1...5 { try await l.flag(trackURI(n), trackId: Int64(n), title: "t\(n)") }
            try await FakeServer.run(trackAPI(deleted: [1, 2, 3, 4, 5])) { tracks in
                let run = try await LoopRun.run(labeler: l, tracks: tracks.url, limit: 2)
                #expect(run.report.pending == 5 && run.report.flags.count == 2)
                #expect(tracks.requests.count == 2)
                #expect(try await l.flags("resolved").count == 2)
                #expect(run.text.contains("processing the oldest 2 (--limit)"))
                #expect(Set(try await l.flags("resolved").keys) == [trackURI(1), trackURI(2)], "oldest first")
            }
        }
    }

    @Test func anUnreadableLabelerStopsBeforeAnythingChanges() async throws {
        try await LabelerFixture.run { l in
            try await l.flag(trackURI(1), trackId: 1, title: "t")
            try await FakeServer.run(trackAPI(deleted: [1])) { tracks in
                let run = try await LoopRun.run(labeler: l, tracks: tracks.url, token: "wrong-token")
                #expect(run.report.exitCode == LoopExit.labelerUnavailable)
                #expect(run.report.errors.first?.contains("401") == true && run.report.errors.first?.contains("MODERATION_AUTH_TOKEN") == true)
                #expect(tracks.requests.isEmpty)
            }
        }
    }
}
