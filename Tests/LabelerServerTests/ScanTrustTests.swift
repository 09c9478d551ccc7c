import EventLog
import Foundation
import LabelerServer
import Testing

/// Uploader trust: an uploader an operator confirmed as the original artist gets a spot check.
struct ScanTrustTests {
    static let artist = "did:plc:trustedartist"
    static func track(_ n: Int, did: String = artist) -> String { "at://\(did)/fm.plyr.track/3k\(n)" }

    @Test func anOriginalArtistGetsASpotCheckUntilAViolationIsConfirmed() async throws {
        try await FakeAudd.run(scripts: [
            "own1.wav": .init(duration: 240, songs: [.init(artist: "Trusted", title: "Own Song", seconds: 0..<240)]),
            "own2.wav": .init(duration: 240),
            "own3.wav": .init(duration: 240),
            "stranger.wav": .init(duration: 240),
        ]) { audd in
            try await runScanHarness(audd: audd) { h in
                // AuDD matches the artist's own song: flagged, then resolved as original_artist.
                let (_, first) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("own1.wav"))","uri":"\#(Self.track(1))"}"#)
                #expect(first["is_flagged"] as? Bool == true && first["billed_requests"] as? Int == 20)
                let (rs, _) = try await h.post("/admin/resolve", #"{"uri":"\#(Self.track(1))","reason":"original_artist"}"#)
                #expect(rs == 200)

                // Their next upload: a spot check (1 chunk in 5, at most 10), not a full scan.
                let (_, next) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("own2.wav"))","uri":"\#(Self.track(2))"}"#)
                let plan = try #require(next["plan"] as? [String: Any])
                #expect(plan["kind"] as? String == "spot-check")
                #expect((plan["reason"] as? String)?.hasPrefix("trusted uploader (1 original-artist resolution, no confirmed violation)") == true)
                #expect(next["billed_requests"] as? Int == 4 && next["full_scan_requests"] as? Int == 20 && audd.billed("own2.wav") == 4)
                #expect(audd.received.last?.params == AuddParams(skip: 4, every: 1, limit: 10))

                // Someone else's upload is scanned in full.
                let (_, stranger) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("stranger.wav"))","uri":"\#(Self.track(9, did: "did:plc:someoneelse"))"}"#)
                #expect((stranger["plan"] as? [String: Any])?["kind"] as? String == "full" && stranger["billed_requests"] as? Int == 20)

                // A confirmed violation by the same uploader ends the trust.
                _ = try await h.emit(Self.track(5))
                let (_, batch) = try await h.post("/admin/batches", #"{"uris":["\#(Self.track(5))"]}"#)
                let id = try #require(batch["id"] as? String)
                let (ss, _) = try await h.post("/admin/review/\(id)/submit", #"{"decisions":[{"uri":"\#(Self.track(5))","decision":"confirm"}]}"#)
                #expect(ss == 200)
                let (_, after) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("own3.wav"))","uri":"\#(Self.track(3))"}"#)
                #expect((after["plan"] as? [String: Any])?["kind"] as? String == "full" && audd.billed("own3.wav") == 20)
                let trust = try h.service.store.read { try h.service.store.trust.record(did: Self.artist, $0) }
                #expect(trust?.originalArtist == 1 && trust?.confirmedViolations == 1)
            }
        }
    }
}
