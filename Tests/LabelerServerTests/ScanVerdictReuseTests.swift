import EventLog
import Foundation
import LabelerServer
import Projections
import Testing

/// Which resolutions let the verdict cache call flagged bytes clean, and for whom.
struct ScanVerdictReuseTests {
    static func track(_ did: String, _ rkey: String) -> String { "at://did:plc:\(did)/fm.plyr.track/\(rkey)" }

    func scan(_ h: Harness, _ audd: FakeAudd, _ file: String, _ uri: String) async throws -> [String: Any] {
        let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL(file))","uri":"\#(uri)"}"#)
        #expect(status == 200, "\(r)")
        return r
    }

    @Test(arguments: ["content_deleted", "other"])
    func deletingAFlaggedTrackAndReuploadingItKeepsTheFlag(reason: String) async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let first = Self.track("evader", "3kfirst")
                #expect(try await scan(h, audd, "dominant.mp3", first)["is_flagged"] as? Bool == true)
                let (rs, _) = try await h.post("/admin/resolve", #"{"uri":"\#(first)","reason":"\#(reason)"}"#)
                #expect(rs == 200)
                // The same uploader posts the same bytes again: still infringing.
                let again = try await scan(h, audd, "dominant.mp3", Self.track("evader", "3ksecond"))
                #expect(again["is_flagged"] as? Bool == true && again["provider"] as? String == "cache" && again["label_seq"] != nil, "\(again)")
                let record = try h.service.store.read { try h.service.store.verdicts.verdict(contentHash: again["content_hash"] as? String ?? "", $0) }
                #expect(record?.cleared == nil)
            }
        }
    }

    @Test func anOriginalArtistResolutionClearsTheBytesForTheResolvedSubjectsUploaderOnly() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                // A posts B's song first (a paid scan); B posts it (a cache hit) and resolves it
                // as original_artist.
                #expect(try await scan(h, audd, "dominant.mp3", Self.track("a", "3ka1"))["is_flagged"] as? Bool == true)
                let bs = try await scan(h, audd, "dominant.mp3", Self.track("b", "3kb1"))
                #expect(bs["is_flagged"] as? Bool == true && bs["provider"] as? String == "cache")
                let (rs, _) = try await h.post("/admin/resolve", #"{"uri":"\#(Self.track("b", "3kb1"))","reason":"original_artist"}"#)
                #expect(rs == 200)
                let a2 = try await scan(h, audd, "dominant.mp3", Self.track("a", "3ka2"))
                #expect(a2["is_flagged"] as? Bool == true, "A is not the artist: \(a2)")
                let b2 = try await scan(h, audd, "dominant.mp3", Self.track("b", "3kb2"))
                #expect(b2["is_flagged"] as? Bool == false && b2["provider"] as? String == "cache", "\(b2)")
                // A's re-upload was scanned again and flagged: B keeps the decision.
                let b3 = try await scan(h, audd, "dominant.mp3", Self.track("b", "3kb3"))
                #expect(b3["is_flagged"] as? Bool == false, "\(b3)")
            }
        }
    }

    @Test(arguments: ["original_artist", "fingerprint_noise"])
    func theLoopsResolutionsNeitherTrustTheUploaderNorClearTheBytes(reason: String) async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let first = Self.track("looped", "3kl1")
                #expect(try await scan(h, audd, "dominant.mp3", first)["is_flagged"] as? Bool == true)
                let (rs, _) = try await h.post(
                    "/admin/resolve", #"{"uri":"\#(first)","reason":"\#(reason)","automated":true,"resolved_by":"moderation-loop"}"#)
                #expect(rs == 200)
                let trust = try h.service.store.read { try h.service.store.trust.record(did: "did:plc:looped", $0) }
                #expect(trust == nil || trust?.originalArtist == 0)
                let mine = try await scan(h, audd, "dominant.mp3", Self.track("looped", "3kl2"))
                #expect(mine["is_flagged"] as? Bool == true, "\(mine)")
                let theirs = try await scan(h, audd, "dominant.mp3", Self.track("else", "3ke1"))
                #expect(theirs["is_flagged"] as? Bool == true, "\(theirs)")
                // A fresh upload by the same DID is not a trusted uploader's spot check.
                let other = try await scan(h, audd, "clean.mp3", Self.track("looped", "3kl3"))
                #expect((other["plan"] as? [String: Any])?["kind"] as? String == "full")
            }
        }
    }
}
