import EventLog
import Foundation
import LabelerCore
import LabelerServer
import Testing

/// `POST /scan` end to end: the real labeler against a fake AuDD over HTTP, checked in the log.
struct ScanTests {
    static let uri = "at://did:plc:artist1/fm.plyr.track/3kscan"
    static let cid = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"

    static func audio(_ name: String) -> String { "https://cdn.example.test/audio/\(name)" }

    /// The events from `seq` on, decoded.
    static func events(_ h: Harness, from seq: UInt64) throws -> [(seq: UInt64, actor: String, event: LabelerEvent)] {
        try h.service.log.read(from: seq, limit: 1000).map { ($0.seq, $0.envelope.actor, try $0.envelope.decodeEvent()) }
    }

    static func scanEvent(_ e: LabelerEvent) -> ScanRecorded? {
        if case .scanRecorded(let s) = e { return s }
        return nil
    }

    @Test func cleanTrackIsRecordedOkWithoutALabel() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let head = h.service.log.head
                let (status, body) = try await h.post(
                    "/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))","uri":"\#(Self.uri)","duration_s":240}"#)
                #expect(status == 200)
                #expect(body["is_flagged"] as? Bool == false)
                #expect((body["matches"] as? [Any])?.isEmpty == true)
                #expect(body["highest_score"] as? Int == 0)
                #expect(body["estimated_requests"] as? Int == 20 && body["billed_requests"] as? Int == 20)
                #expect(body["full_scan_requests"] as? Int == 20 && body["scanned_chunks"] as? Int == 20)
                #expect((body["plan"] as? [String: Any])?["kind"] as? String == "full")
                #expect((body["plan"] as? [String: Any])?["mode"] as? String == "balanced")
                #expect(body["label_seq"] == nil)
                #expect((body["raw_response"] as? [String: Any])?["status"] as? String == "success")
                #expect(body["seq"] as? Int == Int(head + 1))

                let events = try Self.events(h, from: head + 1)
                #expect(events.count == 1)
                let scan = try #require(Self.scanEvent(events[0].event))
                #expect(events[0].actor == "scanner")
                #expect(scan.status == .ok && scan.error == nil && !scan.isFlagged && scan.matches.isEmpty)
                #expect(scan.scanId == body["scan_id"] as? String)
                #expect(scan.uri == Self.uri && scan.audioURL == audd.audioURL("clean.mp3") && scan.provider == "audd")
                #expect(scan.policy == "dominant(threshold=0.3,mix=3x3|3@25%)" && scan.flagReason == "no matches")
                #expect(scan.estimatedRequests == 20 && scan.fullScanRequests == 20 && scan.scannedChunks == 20)
                #expect(scan.plan?.kind == "full" && scan.plan?.tier == "480=full" && scan.plan?.durationSeconds == 240)
                #expect(scan.calls == [AuddCall(pass: 0, params: AuddParams(skip: 0, every: 1, limit: 20), billedRequests: 20, matchedChunks: 0)])
                #expect(audd.billed("clean.mp3") == 20, "what AuDD billed is what the log says")
                #expect(try await h.queryAll([Self.uri], limit: 50).isEmpty)

                // What AuDD was sent: the key, the URL, accurate offsets and the pass, as a form.
                let sent = try #require(audd.received.last)
                #expect(sent.api_token == "test" && sent.url == audd.audioURL("clean.mp3") && sent.accurate_offsets == "1")
                #expect(sent.params == AuddParams(skip: 0, every: 1, limit: 20, skipFirstSeconds: 0))
                #expect(sent.contentType == "application/x-www-form-urlencoded")

                // `result: null` is clean too (30 s, probed: 3 requests).
                let (s2, b2) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("null.mp3"))"}"#)
                #expect(s2 == 200 && b2["is_flagged"] as? Bool == false && b2["estimated_requests"] as? Int == 3)

                // Bytes ffprobe cannot read and no duration_s: capped like the longest tier, and
                // the estimate is what the answer proves (the 1-request floor for a clean one).
                audd.serve("noise.bin", bytes: Array(repeating: 0x5A, count: 4096), script: FakeAudd.Script(duration: 120))
                let (s3, b3) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("noise.bin"))"}"#)
                #expect(s3 == 200 && b3["estimated_requests"] as? Int == 1 && b3["full_scan_requests"] == nil)
                #expect(audd.received.last?.limit == 60 && audd.received.last?.skip == 13)
                let plan = try #require(b3["plan"] as? [String: Any])
                #expect((plan["reason"] as? String)?.hasPrefix("duration unknown") == true && (plan["reason"] as? String)?.contains("probe failed") == true)
            }
        }
    }

    @Test func dominantMatchLabelsTheTrackAndAttachesContextInOneBatch() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let head = h.service.log.head
                let body = #"""
                    {"audio_url":"\#(audd.audioURL("dominant.mp3"))","uri":"\#(Self.uri)","cid":"\#(Self.cid)","duration_s":60,
                     "context":{"track_id":42,"track_title":"My Upload","artist_handle":"someone.bsky.social","artist_did":"did:plc:artist1"}}
                    """#
                let (status, r) = try await h.post("/scan", body)
                #expect(status == 200, "\(r)")
                #expect(r["is_flagged"] as? Bool == true)
                #expect(r["highest_score"] as? Int == 95)
                #expect(r["dominant_match"] as? String == "daft punk - one more time")
                #expect(r["dominant_match_pct"] as? Int == 80)
                #expect(r["sustained_song_count"] as? Int == 1)
                #expect((r["flag_reason"] as? String)?.hasPrefix("dominant:") == true)
                #expect(r["estimated_requests"] as? Int == 5 && audd.billed("dominant.mp3") == 5, "60 s: 5 chunks of 12 s")
                let matches = try #require(r["matches"] as? [[String: Any]])
                #expect(matches.count == 5)
                #expect(matches[1]["artist"] as? String == "DAFT PUNK" && matches[1]["offset_ms"] as? Int == 12_000)
                #expect(matches[1]["score"] as? Int == 95 && matches[1]["timecode"] as? String == "00:05")
                #expect(((r["raw_response"] as? [String: Any])?["result"] as? [Any])?.count == 5)

                // scan, label, context: contiguous, in that order, all by the scanner.
                let scanSeq = try #require((r["seq"] as? NSNumber)?.uint64Value)
                #expect(scanSeq == head + 1)
                #expect((r["label_seq"] as? NSNumber)?.uint64Value == scanSeq + 1)
                #expect((r["context_seq"] as? NSNumber)?.uint64Value == scanSeq + 2)
                let events = try Self.events(h, from: head + 1)
                #expect(events.map(\.seq) == [scanSeq, scanSeq + 1, scanSeq + 2])
                #expect(events.allSatisfy { $0.actor == "scanner" })
                let scan = try #require(Self.scanEvent(events[0].event))
                #expect(scan.status == .ok && scan.isFlagged && scan.highestScore == 95 && scan.matches.count == 5)
                #expect(scan.uri == Self.uri && scan.cid == Self.cid && scan.estimatedRequests == 5)
                guard case .labelApplied(let applied) = events[1].event else { Issue.record("no label"); return }
                #expect(applied.label.uri == Self.uri && applied.label.val == "copyright-violation" && applied.label.cid == Self.cid)
                #expect(applied.label.src == h.service.did && !applied.label.isNegation)
                guard case .trackContextAttached(let context) = events[2].event else { Issue.record("no context"); return }
                #expect(context.uri == Self.uri && context.trackId == 42 && context.trackTitle == "My Upload")
                #expect(context.artistHandle == "someone.bsky.social" && context.artistDid == "did:plc:artist1")
                #expect(context.highestScore == 95)
                #expect(context.matches == [
                    ContextMatch(title: "One More Time", artist: "Daft Punk", score: 95),
                    ContextMatch(title: "Another Song", artist: "Someone Else", score: 60),
                ])

                // The label is served, and the copyright flag is open with the context.
                let labels = try await h.queryAll([Self.uri], limit: 50)
                #expect(labels.count == 1)
                #expect(labels.first?["val"] as? String == "copyright-violation" && labels.first?["cid"] as? String == Self.cid)
                let flag = try h.service.store.read { try h.service.store.flags.record(uri: Self.uri, $0) }
                #expect(flag?.labelSeq == scanSeq + 1)
                #expect(flag?.context?.trackTitle == "My Upload" && flag?.context?.highestScore == 95)

                // Flagged without a uri: recorded as flagged, nothing to label.
                let before = h.service.log.head
                let (s2, r2) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","duration_s":60}"#)
                #expect(s2 == 200 && r2["is_flagged"] as? Bool == true && r2["label_seq"] == nil)
                #expect(h.service.log.head == before + 1)
            }
        }
    }

    @Test func anHourLongMixIsSampledAndStillFlagged() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let head = h.service.log.head
                let (status, r) = try await h.post(
                    "/scan", #"{"audio_url":"\#(audd.audioURL("mix.mp3"))","uri":"\#(Self.uri)","duration_s":3600}"#)
                #expect(status == 200, "\(r)")
                #expect(r["is_flagged"] as? Bool == true)
                #expect(r["sustained_song_count"] as? Int == 0, "no song at 3 positions when sampled")
                #expect(r["flag_reason"] as? String == "mix: 20 songs in 22 of 22 scanned chunks (≥ 25%)")
                #expect(r["billed_requests"] as? Int == 22 && r["full_scan_requests"] as? Int == 300)
                #expect(audd.billed("mix.mp3") == 22)
                let sent = try #require(audd.received.last)
                #expect(sent.params == AuddParams(skip: 13, every: 1, limit: 60, skipFirstSeconds: 0))
                let events = try Self.events(h, from: head + 1)
                #expect(events.count == 3)
                let scan = try #require(Self.scanEvent(events[0].event))
                #expect(scan.isFlagged && scan.matches.count == 22 && scan.estimatedRequests == 22 && scan.scannedChunks == 22)
                #expect(scan.plan?.kind == "sampled" && scan.plan?.tier == "*=1/13@60" && scan.calls?.count == 1)
                #expect(scan.flagReason == r["flag_reason"] as? String)
                guard case .trackContextAttached(let context) = events[2].event else { Issue.record("no context"); return }
                #expect(context.matches?.count == 20, "one entry per song")
                #expect(context.trackId == nil, "no context fields were given")
            }
        }
    }

    @Test func fullModeScansEveryChunkAndBudgetSamplesTracks() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd, environment: ["SCAN_MODE": "full"]) { h in
                let (_, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("mix.mp3"))","duration_s":3600}"#)
                #expect(r["billed_requests"] as? Int == 300 && audd.billed("mix.mp3") == 300)
                #expect(r["is_flagged"] as? Bool == true && (r["flag_reason"] as? String)?.contains("20 songs at ≥ 3 offsets") == true)
            }
        }
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd, environment: ["SCAN_MODE": "budget"]) { h in
                let (_, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))","duration_s":240}"#)
                #expect(r["billed_requests"] as? Int == 7 && audd.billed("clean.mp3") == 7 && r["full_scan_requests"] as? Int == 20)
                #expect(audd.received.last?.params == AuddParams(skip: 2, every: 1, limit: 20))
            }
        }
    }

    @Test func anInconclusiveSampleEscalatesWithComplementaryPasses() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let (status, r) = try await h.post(
                    "/scan", #"{"audio_url":"\#(audd.audioURL("excerpt.mp3"))","uri":"\#(Self.uri)","duration_s":2400}"#)
                #expect(status == 200, "\(r)")
                #expect(audd.received.map(\.params.skipFirstSeconds) == [0, 12, 24])
                #expect(Set(audd.received.map(\.params.skip)) == [13])
                let calls = try #require(r["calls"] as? [[String: Any]])
                #expect(calls.map { $0["billed_requests"] as? Int } == [15, 15, 15])
                #expect(r["billed_requests"] as? Int == 45 && audd.billed("excerpt.mp3") == 45)
                #expect(r["is_flagged"] as? Bool == true && r["label_seq"] != nil)
                let reason = try #require(r["flag_reason"] as? String)
                #expect(reason.contains("pass 0 inconclusive (1 matched chunk < 3): escalating"))
                #expect(reason.contains("pass 1 inconclusive (2 matched chunks < 3): escalating"))
            }
        }
    }

    @Test func presencePolicyFlagsASingleMatch() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd, environment: ["FLAG_POLICY": "presence"]) { h in
                let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("single.mp3"))","uri":"\#(Self.uri)","duration_s":30}"#)
                #expect(status == 200 && r["is_flagged"] as? Bool == true && r["policy"] as? String == "presence")
                #expect(r["flag_reason"] as? String == "presence: 1 match of 1 song")
                #expect((r["label_seq"] as? NSNumber) != nil)
            }
        }
    }

    /// Every way AuDD can fail: recorded as a failed scan with its reason, answered 502, never clean.
    @Test(arguments: [
        ("slow.mp3", "AuDD did not answer within 1 s"),
        ("500.mp3", "AuDD answered HTTP 500: upstream exploded"),
        ("garbage.mp3", "AuDD's response is not JSON: <html>hello</html>"),
        ("error.mp3", "AuDD error: Recognition failed: the audio file is too short (code 300)"),
        ("shape.mp3", "AuDD's result[0].songs is not an array"),
    ])
    func upstreamFailuresAreRecordedAsFailed(file: String, message: String) async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd, scanTimeoutSeconds: 1) { h in
                let head = h.service.log.head
                let started = ContinuousClock.now
                let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL(file))","uri":"\#(Self.uri)","duration_s":60}"#)
                let answered = ContinuousClock.now
                // Measured from when AuDD was asked (the download, probe and fingerprint come first).
                let elapsed = answered - (audd.arrival(file) ?? started)
                #expect(status == 502)
                #expect(r["error"] as? String == "UpstreamFailure")
                #expect(r["message"] as? String == message)
                if file == "slow.mp3" { #expect(elapsed < FakeAudd.slowDelay, "the timeout cut the wait short") }

                let events = try Self.events(h, from: head + 1)
                #expect(events.count == 1, "only the failed scan: no label, no context")
                let scan = try #require(Self.scanEvent(events[0].event))
                #expect(events[0].actor == "scanner")
                #expect(scan.status == .failed && scan.error == message)
                #expect(!scan.isFlagged && scan.matches.isEmpty && scan.policy == nil && scan.estimatedRequests == 0)
                #expect(scan.uri == Self.uri && scan.audioURL == audd.audioURL(file))
                #expect(try await h.queryAll([Self.uri], limit: 50).isEmpty)

                // A failed scan is retried by scanning again: a new scan event.
                let (s2, r2) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","uri":"\#(Self.uri)","duration_s":60}"#)
                #expect(s2 == 200 && r2["is_flagged"] as? Bool == true)
                let retry = try #require(Self.scanEvent(try Self.events(h, from: head + 2)[0].event))
                #expect(retry.status == .ok && retry.scanId != scan.scanId)
            }
        }
    }

    @Test func unreachableAuddIsAFailedScan() async throws {
        // Port 1 on loopback: nothing listens there, the connection is refused. The audio itself
        // is served by the fake.
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: nil, environment: ["AUDD_API_KEY": "test", "AUDD_API_URL": "http://127.0.0.1:1/"], scanTimeoutSeconds: 1) { h in
                let head = h.service.log.head
                let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))"}"#)
                #expect(status == 502 && r["error"] as? String == "UpstreamFailure")
                let message = try #require(r["message"] as? String)
                #expect(message.hasPrefix("AuDD is unreachable"))
                let events = try Self.events(h, from: head + 1)
                let scan = try #require(events.count == 1 ? Self.scanEvent(events[0].event) : nil)
                #expect(scan.status == .failed && scan.error == message)
                #expect(scan.calls?.first?.error == message && scan.contentHash != nil, "the audio was fetched, the provider was not reached")
            }
        }
    }

    @Test func withoutAKeyScanningIsNotConfigured() async throws {
        try await Harness.run { h in
            let head = h.service.log.head
            let (status, r) = try await h.post("/scan", #"{"audio_url":"https://cdn.example.test/audio/clean.mp3"}"#)
            #expect(status == 503)
            #expect(r["error"] as? String == "ScannerNotConfigured")
            #expect((r["message"] as? String)?.contains("AUDD_API_KEY") == true)
            #expect(h.service.log.head == head)
            // Still behind the admin key.
            let (s2, _) = try await h.post("/scan", "{}", headers: [.contentType: "application/json"])
            #expect(s2 == 401)
        }
    }

    @Test func badInputIsRefusedBeforeScanning() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let head = h.service.log.head
                let a = audd.audioURL("dominant.mp3")
                let cases: [(String, String)] = [
                    ("{}", "audio_url is required"),
                    (#"{"audio_url":42}"#, "audio_url must be a string"),
                    (#"{"audio_url":""}"#, "audio_url must not be empty"),
                    (#"{"audio_url":"ftp://x.test/a.mp3"}"#, "audio_url must be an http(s) URL"),
                    (#"{"audio_url":"not a url"}"#, "audio_url must be an http(s) URL"),
                    (#"{"audio_url":"\#(a)","uri":"https://example.com/track"}"#, "uri: not a valid AT-URI or DID"),
                    (#"{"audio_url":"\#(a)","uri":"\#(Self.uri)","cid":"nope"}"#, "cid: not a valid CID"),
                    (#"{"audio_url":"\#(a)","cid":"\#(Self.cid)"}"#, "cid is only meaningful with uri"),
                    (#"{"audio_url":"\#(a)","uri":"\#(Self.uri)","duration_s":0}"#, "duration_s must be an integer from 1 to 2592000"),
                    (#"{"audio_url":"\#(a)","uri":"\#(Self.uri)","duration_s":"300"}"#, "duration_s must be an integer"),
                    (#"{"audio_url":"\#(a)","blob_cid":"nope"}"#, "blob_cid: not a valid CID"),
                    (#"{"audio_url":"\#(a)","uri":"\#(Self.uri)","context":{"track_id":"42"}}"#, "context.track_id must be an integer"),
                    (#"{"audio_url":"\#(a)","uri":"\#(Self.uri)","context":{"track_title":7}}"#, "context.track_title must be a string"),
                    (#"{"audio_url":"\#(a)","uri":"\#(Self.uri)","context":{"artist_did":"plc:nope"}}"#, "context.artist_did: not a valid DID"),
                    (#"{"audio_url":"\#(a)","uri":"\#(Self.uri)","context":[]}"#, "context must be an object"),
                    (#"{"audio_url":"\#(a)","context":{"track_id":1}}"#, "context is only meaningful with uri"),
                    ("not json", "body is not valid JSON"),
                ]
                for (body, message) in cases {
                    let (status, r) = try await h.post("/scan", body)
                    #expect(status == 400, "\(body) → \(status) \(r)")
                    #expect(r["error"] as? String == "InvalidRequest", "\(body)")
                    #expect(r["message"] as? String == message, "\(body)")
                }
                // Unknown keys are refused, not ignored (a misspelt `uri` would pay for a scan
                // that can never label); the same for the known-content admin bodies.
                let unknown: [(String, String, String)] = [
                    ("/scan", #"{"audio_url":"\#(a)","url":"\#(Self.uri)"}"#, "url: unknown field"),
                    ("/scan", #"{"audio_url":"\#(a)","uri":"\#(Self.uri)","context":{"track_name":"x"}}"#, "context.track_name: unknown field"),
                    ("/admin/known-content", #"{"uri":"\#(Self.uri)","wrok":"x"}"#, "wrok: unknown field"),
                    ("/admin/known-content/remove", #"{"ref_id":"kc-1","ref":"x"}"#, "ref: unknown field"),
                ]
                for (path, body, prefix) in unknown {
                    let (status, r) = try await h.post(path, body)
                    #expect(status == 400 && r["error"] as? String == "InvalidRequest", "\(body) → \(status) \(r)")
                    #expect((r["message"] as? String)?.hasPrefix(prefix) == true, "\(body) → \(r)")
                }
                #expect(h.service.log.head == head, "nothing appended")
                #expect(audd.received.isEmpty, "nothing was sent to AuDD")
            }
        }
    }
}
