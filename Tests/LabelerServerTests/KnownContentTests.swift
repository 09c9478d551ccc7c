import EventLog
import Foundation
import LabelerCore
@testable import LabelerServer
import LabelerTestSupport
import Projections
import Synchronization
import Testing

/// Where the shared test audio is made (removed at exit).
let knownContentWorkshopPath = NSTemporaryDirectory() + "labeler-test-audio-" + UUID().uuidString

/// The known-content index with real Chromaprint prints of audio generated at test time.
@Suite(.serialized) struct KnownContentTests {
    /// A 40-s reference, an unrelated piece, and the copies a re-uploader makes; made once per
    /// test run (about a second of CPU) and shared by the tests of this suite.
    static func workshop() throws -> (SynthAudio.Workshop, TempDir) {
        try shared.withLock { cached in
            if let cached { return cached }
            let made = try makeWorkshop()
            cached = made
            // A static is never deinitialised: remove the directory when the test process exits.
            atexit { try? FileManager.default.removeItem(atPath: knownContentWorkshopPath) }
            return made
        }
    }

    static let shared = Mutex<(SynthAudio.Workshop, TempDir)?>(nil)

    static func makeWorkshop() throws -> (SynthAudio.Workshop, TempDir) {
        let dir = TempDir(path: knownContentWorkshopPath)
        let w = SynthAudio.Workshop(dir: dir.path)
        try w.write("a.wav", SynthAudio.piece(seed: 1, seconds: 40))
        try w.write("b.wav", SynthAudio.piece(seed: 2, seconds: 40))
        try w.write("c.wav", SynthAudio.piece(seed: 3, seconds: 30))
        try w.ffmpeg("a.wav", "a.mp3", ["-c:a", "libmp3lame", "-b:a", "128k"])
        try w.ffmpeg("a.wav", "a.opus", ["-c:a", "libopus", "-b:a", "48k"])
        try w.sox(["a.wav"], "a-quiet.wav", ["vol", "-9dB"])
        try w.sox(["a.wav"], "a-trim.wav", ["trim", "7.3", "25"])
        // Cut a third of an item (41.3 ms) off the grid: the worst sub-item misalignment.
        try w.sox(["a.wav"], "a-offgrid.wav", ["trim", "5.0413", "25"])
        try w.sox(["c.wav", "a.wav", "c.wav"], "spliced.wav")
        return (w, dir)
    }

    static func print(_ w: SynthAudio.Workshop, _ name: String) async throws -> [UInt32] {
        try await MediaTools.fingerprint(w.path(name))
    }

    static func judge(_ query: [UInt32], against reference: [UInt32]) -> KnownMatch? {
        let postings = FingerprintMatcher.postings(of: reference)
        guard let c = FingerprintMatcher.vote(query: query, minVotes: 8, postings: { k in (postings[k] ?? []).map { (ref: 0, pos: $0) } }).first else {
            return nil
        }
        return KnownContentProjection.judge(query: query, reference: reference, candidate: c, KnownContentThresholds())
    }

    @Test func copiesMatchUnrelatedAudioDoesNotAndASpliceIsFoundAtItsOffset() async throws {
        let (w, dir) = try Self.workshop()
        let reference = try await Self.print(w, "a.wav")
        #expect(reference.count > 280, "about 8 items per second")

        for copy in ["a.mp3", "a.opus", "a-quiet.wav"] {
            let m = try #require(Self.judge(try await Self.print(w, copy), against: reference), "\(copy)")
            #expect(m.verdict == "flag" && m.berBasisPoints <= 500, "\(copy): \(m)")
            #expect(abs(m.uploadOffsetMs - m.referenceOffsetMs) < 300, "\(copy) aligned at 0")
            #expect(m.matchedMs >= 30_000, "\(copy): \(m.matchedMs) ms")
        }
        // Trimmed: 25 s from 7.3 s of the reference.
        let trim = try #require(Self.judge(try await Self.print(w, "a-trim.wav"), against: reference))
        #expect(trim.verdict == "flag" && abs(trim.referenceOffsetMs - trim.uploadOffsetMs - 7_300) < 250, "\(trim)")
        #expect(trim.matchedMs >= 20_000)
        // Spliced into a longer file: 30 s of other music first.
        let splice = try #require(Self.judge(try await Self.print(w, "spliced.wav"), against: reference))
        #expect(splice.verdict == "flag", "\(splice)")
        #expect(abs(splice.uploadOffsetMs - splice.referenceOffsetMs - 30_000) < 250, "found at 30 s: \(splice)")
        #expect(splice.matchedMs >= 30_000 && splice.matchedMs <= 42_000)
        // Unrelated music: nothing, in either direction.
        let b = try await Self.print(w, "b.wav")
        #expect(Self.judge(b, against: reference) == nil)
        #expect(Self.judge(reference, against: b) == nil)
        #expect(Self.judge(try await Self.print(w, "c.wav"), against: reference) == nil)
        _ = dir
    }

    @Test func thePhaseSearchRecoversACopyCutOffTheItemGrid() async throws {
        let (w, dir) = try Self.workshop()
        let reference = try await Self.print(w, "a.wav")
        let offgrid = try await Self.print(w, "a-offgrid.wav")
        let plain = try #require(Self.judge(offgrid, against: reference))
        #expect(plain.berBasisPoints >= 300, "misaligned by a third of an item: \(plain)")
        let (found, searched) = try await KnownContentMatcher.match(path: w.path("a-offgrid.wav"), items: offgrid) { q in
            Self.judge(q, against: reference).map { [$0] } ?? []
        }
        #expect(searched)
        let best = try #require(found.first)
        #expect(best.verdict == "flag" && best.berBasisPoints < 150, "after the phase search: \(best)")
        #expect(abs(best.referenceOffsetMs - best.uploadOffsetMs - 5_041) < 250)
        // A copy on the grid needs no search.
        let (_, again) = try await KnownContentMatcher.match(path: w.path("a.mp3"), items: try await Self.print(w, "a.mp3")) { q in
            Self.judge(q, against: reference).map { [$0] } ?? []
        }
        #expect(!again)
        _ = dir
    }

    @Test func aConfirmedViolationIsFoundLocallyInReuploadsAndInTheCatalogue() async throws {
        let (w, dir) = try Self.workshop()
        try await FakeAudd.run { audd in
            // AuDD recognises the original; it missed the copy inside the earlier mix.
            audd.serve("spliced.wav", bytes: try w.bytes("spliced.wav"), script: .init(duration: 100))
            audd.serve("a.wav", bytes: try w.bytes("a.wav"), script: .init(duration: 40, songs: [.init(artist: "Label", title: "Hit", seconds: 0..<40)]))
            audd.serve("a.opus", bytes: try w.bytes("a.opus"), script: .init(duration: 40, songs: [.init(artist: "Label", title: "Hit", seconds: 0..<40)]))
            audd.serve("b.wav", bytes: try w.bytes("b.wav"), script: .init(duration: 40))
            try await runScanHarness(audd: audd) { h in
                let mix = "at://did:plc:dj/fm.plyr.track/3kmix"
                let original = "at://did:plc:up1/fm.plyr.track/3korig"
                let reupload = "at://did:plc:up2/fm.plyr.track/3kcopy"
                let unrelated = "at://did:plc:up3/fm.plyr.track/3kother"
                let (_, m) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("spliced.wav"))","uri":"\#(mix)"}"#)
                #expect(m["is_flagged"] as? Bool == false && m["billed_requests"] as? Int == 9)
                let (_, o) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("a.wav"))","uri":"\#(original)"}"#)
                #expect(o["is_flagged"] as? Bool == true)

                // The operator confirms: the audio becomes a reference, the catalogue is re-checked.
                let (_, batch) = try await h.post("/admin/batches", #"{"uris":["\#(original)"]}"#)
                let id = try #require(batch["id"] as? String)
                let (ss, _) = try await h.post("/admin/review/\(id)/submit", #"{"decisions":[{"uri":"\#(original)","decision":"confirm"}]}"#)
                #expect(ss == 200)
                let (_, listing) = try await h.get("/admin/known-content", admin: true)
                let refs = try #require(listing["references"] as? [[String: Any]])
                #expect(refs.count == 1 && refs[0]["reason"] as? String == "operator-confirmed" && refs[0]["uri"] as? String == original)
                #expect(refs[0]["work"] as? String == "Label - Hit")
                let found = try #require(listing["matches"] as? [[String: Any]])
                #expect(found.count == 1 && found[0]["uri"] as? String == mix && found[0]["source"] as? String == "retro-scan")
                #expect(found[0]["verdict"] as? String == "flag")
                #expect(abs((found[0]["upload_offset_ms"] as? Int ?? 0) - 30_000) < 300, "\(found[0])")
                #expect(try await h.queryAll([mix], limit: 10).count == 1, "the retro-scan labelled the mix")

                // A re-encoded re-upload: flagged locally, AuDD not asked.
                let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("a.opus"))","uri":"\#(reupload)"}"#)
                #expect(status == 200, "\(r)")
                #expect(r["is_flagged"] as? Bool == true && r["billed_requests"] as? Int == 0 && r["provider"] as? String == "known-content")
                #expect((r["plan"] as? [String: Any])?["kind"] as? String == "known-content")
                #expect(audd.billed("a.opus") == 0 && r["label_seq"] != nil)
                let km = try #require((r["known_matches"] as? [[String: Any]])?.first)
                #expect(km["verdict"] as? String == "flag" && (km["ber"] as? Double ?? 1) <= 0.05)
                #expect((r["matches"] as? [[String: Any]])?.first?["title"] as? String == "Label - Hit")

                // Unrelated audio goes to AuDD as usual, with no local match.
                let (_, u) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("b.wav"))","uri":"\#(unrelated)"}"#)
                #expect(u["provider"] as? String == "audd" && u["known_matches"] == nil && audd.billed("b.wav") == 4)

                // The index is a projection: rebuilt from the log alone, it is the same.
                let store = h.service.store
                let before = try store.projections.digest(store.known)
                try store.projections.rebuild([store.known], reader: store.reader)
                #expect(try store.projections.digest(store.known) == before)
                #expect(try store.read { try store.known.references($0) }.count == 1)
            }
        }
        _ = dir
    }

    @Test func bytesCachedCleanAreFlaggedOnceAConfirmedReferenceIsFoundInThem() async throws {
        let (w, dir) = try Self.workshop()
        try await FakeAudd.run { audd in
            audd.serve("spliced.wav", bytes: try w.bytes("spliced.wav"), script: .init(duration: 100))
            audd.serve("a.wav", bytes: try w.bytes("a.wav"), script: .init(duration: 40, songs: [.init(artist: "Label", title: "Hit", seconds: 0..<40)]))
            try await runScanHarness(audd: audd) { h in
                let mix = "at://did:plc:dj/fm.plyr.track/3kmix"
                let (_, m) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("spliced.wav"))","uri":"\#(mix)"}"#)
                #expect(m["is_flagged"] as? Bool == false)
                let (_, hit) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("spliced.wav"))","uri":"at://did:plc:dj2/fm.plyr.track/3k1"}"#)
                #expect(hit["provider"] as? String == "cache" && hit["is_flagged"] as? Bool == false)
                let original = "at://did:plc:up1/fm.plyr.track/3korig"
                let (_, o) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("a.wav"))","uri":"\#(original)"}"#)
                #expect(o["is_flagged"] as? Bool == true)
                let (_, batch) = try await h.post("/admin/batches", #"{"uris":["\#(original)"]}"#)
                let id = try #require(batch["id"] as? String)
                let (ss, _) = try await h.post("/admin/review/\(id)/submit", #"{"decisions":[{"uri":"\#(original)","decision":"confirm"}]}"#)
                #expect(ss == 200)
                let store = h.service.store
                let cached = try store.read { try store.verdicts.verdict(contentHash: m["content_hash"] as? String ?? "", $0) }
                #expect(cached?.flagged == true, "the retro-scan's strong match marks the bytes flagged")

                // The bytes were cached clean; the retro-scan found the reference in them, so a
                // re-upload (even announced by its blob CID) is flagged with no AuDD request.
                let billed = audd.billed("spliced.wav")
                for body in [
                    #"{"audio_url":"\#(audd.audioURL("spliced.wav"))","uri":"at://did:plc:dj3/fm.plyr.track/3k2"}"#,
                    #"{"audio_url":"\#(audd.audioURL("spliced.wav"))","uri":"at://did:plc:dj4/fm.plyr.track/3k3","blob_cid":"\#(m["content_hash"] as? String ?? "")"}"#,
                ] {
                    let (status, r) = try await h.post("/scan", body)
                    #expect(status == 200 && r["is_flagged"] as? Bool == true && r["label_seq"] != nil, "\(r)")
                    #expect((r["matches"] as? [[String: Any]])?.first?["title"] as? String == "Label - Hit", "\(r)")
                }
                #expect(audd.billed("spliced.wav") == billed)
            }
        }
        _ = dir
    }

    @Test func removedReferencesDoNotCrowdOutOneInForce() async throws {
        let (w, dir) = try Self.workshop()
        let items = try await Self.print(w, "a.wav")
        try await runScanHarness(audd: nil) { h in
            // Ten references of the same audio, removed, rank before the eleventh (ties go to the
            // earliest); only the eleventh is in force.
            var events: [NewEvent] = (0...10).map {
                KnownContentAdded(refId: "kc-same-\($0)", reason: "admin", uri: nil, contentHash: nil, fingerprint: Chromaprint.bytes(items), work: nil)
                    .event(actor: .admin())
            }
            events += (0..<10).map { KnownContentRemoved(refId: "kc-same-\($0)", reason: "licensed").event(actor: .admin()) }
            _ = try await h.service.log.append(events)
            let store = h.service.store
            let found = try store.read { try store.known.match(items, KnownContentThresholds(), $0) }
            #expect(found.map(\.refId) == ["kc-same-10"], "\(found)")
        }
        _ = dir
    }

    @Test func aBorderlineMatchGoesToReviewAndNeverLabels() async throws {
        let (w, dir) = try Self.workshop()
        try await FakeAudd.run { audd in
            audd.serve("a.opus", bytes: try w.bytes("a.opus"), script: .init(duration: 40))
            try await runScanHarness(audd: audd, environment: ["KNOWN_FLAG_BER": "0"]) { h in
                // An admin adds the reference straight from audio.
                let (s1, added) = try await h.post("/admin/known-content", #"{"audio_url":"\#(audd.audioURL("a.wav"))","work":"Label - Hit"}"#)
                #expect(s1 == 404 || s1 == 502, "a.wav is not served yet: \(added)")
                audd.serve("a.wav", bytes: try w.bytes("a.wav"), script: .init(duration: 40))
                let (s2, ref) = try await h.post("/admin/known-content", #"{"audio_url":"\#(audd.audioURL("a.wav"))","work":"Label - Hit"}"#)
                #expect(s2 == 200 && ref["already"] as? Bool == false, "\(ref)")
                let refId = try #require(ref["ref_id"] as? String)
                let (_, again) = try await h.post("/admin/known-content", #"{"audio_url":"\#(audd.audioURL("a.wav"))"}"#)
                #expect(again["already"] as? Bool == true && again["ref_id"] as? String == refId)

                // With KNOWN_FLAG_BER 0 even a close re-encode is only borderline: review, AuDD decides.
                let uri = "at://did:plc:up2/fm.plyr.track/3kborder"
                let (_, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("a.opus"))","uri":"\#(uri)"}"#)
                #expect(r["provider"] as? String == "audd" && r["is_flagged"] as? Bool == false && r["label_seq"] == nil)
                #expect(audd.billed("a.opus") == 4)
                #expect((r["known_matches"] as? [[String: Any]])?.first?["verdict"] as? String == "review")
                #expect((((r["plan"] as? [String: Any])?["reason"]) as? String)?.contains("sent to review") == true)
                let (_, listing) = try await h.get("/admin/known-content", admin: true)
                let review = try #require((listing["matches"] as? [[String: Any]])?.first)
                #expect(review["verdict"] as? String == "review" && review["uri"] as? String == uri && review["source"] as? String == "scan")
                #expect(try await h.queryAll([uri], limit: 10).isEmpty)

                // An operator judges it to be the reference's work: the subject is labelled, and
                // the same bytes uploaded again are flagged from the cache, for no AuDD request.
                let matchSeq = try #require((review["seq"] as? NSNumber)?.uint64Value)
                let (s5, judged) = try await h.post("/admin/known-content/matches/\(matchSeq)/review", #"{"decision":"flag","decided_by":"Ana"}"#)
                #expect(s5 == 200 && judged["labelled"] as? Bool == true, "\(judged)")
                #expect(try await h.queryAll([uri], limit: 10).count == 1)
                let reupload = "at://did:plc:up3/fm.plyr.track/3kagain"
                let (_, again2) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("a.opus"))","uri":"\#(reupload)"}"#)
                #expect(again2["provider"] as? String == "cache" && again2["is_flagged"] as? Bool == true, "\(again2)")
                #expect((again2["flag_reason"] as? String)?.contains("an operator judged the borderline match") == true, "\(again2)")
                #expect(audd.billed("a.opus") == 4, "no new request")
                #expect(try await h.queryAll([reupload], limit: 10).count == 1)

                // Removing the reference takes it out of force.
                let (s3, removed) = try await h.post("/admin/known-content/remove", #"{"ref_id":"\#(refId)","reason":"licensed"}"#)
                #expect(s3 == 200 && removed["already"] as? Bool == false)
                audd.serve("a2.opus", bytes: try w.bytes("a.opus") + [0], script: .init(duration: 40))
                let (_, after) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("a2.opus"))"}"#)
                #expect(after["known_matches"] == nil)

                // Bad input changes nothing.
                let head = h.service.log.head
                for (body, status) in [("{}", 400), (#"{"uri":"nope"}"#, 400), (#"{"uri":"at://did:plc:x/fm.plyr.track/never"}"#, 404), (#"{"audio_url":"ftp://x/y"}"#, 400)] {
                    let (s, e) = try await h.post("/admin/known-content", body)
                    #expect(s == status && e["error"] != nil, "\(body) → \(s) \(e)")
                }
                let (s4, _) = try await h.post("/admin/known-content/remove", #"{"ref_id":"kc-none"}"#)
                #expect(s4 == 404 && h.service.log.head == head)
            }
        }
        _ = dir
    }
}
