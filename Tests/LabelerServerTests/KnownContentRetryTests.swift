import EventLog
import Foundation
@testable import LabelerServer
import Testing

/// A reference is committed before its retro-scan: a failing retro-scan is reported, not a 500,
/// and adding the reference again re-runs it. A confirmation says which subjects became references.
struct KnownContentRetryTests {
    static let track = "at://did:plc:kcretry/fm.plyr.track/3kr1"
    static let unscanned = "at://did:plc:kcretry/fm.plyr.track/3kr2"

    /// A damaged fingerprint entry: walking the catalogue throws.
    static func damage(_ h: Harness) throws {
        let prints = h.service.fingerprints
        try prints.env.write { try $0.put(prints.db, Array("bafkreidamaged".utf8), [0xff, 0xff, 0xff]) }
    }

    static func repair(_ h: Harness) throws {
        let prints = h.service.fingerprints
        try prints.env.write { _ = try $0.delete(prints.db, Array("bafkreidamaged".utf8)) }
    }

    @Test func aFailedRetroScanKeepsTheReferenceAndARetryRunsItAgain() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let (_, s) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","uri":"\#(Self.track)"}"#)
                #expect(s["is_flagged"] as? Bool == true)
                try Self.damage(h)
                let (status, r) = try await h.post("/admin/known-content", #"{"uri":"\#(Self.track)"}"#)
                #expect(status == 200 && r["already"] as? Bool == false, "\(r)")
                #expect(((r["retro_scan"] as? [String: Any])?["error"] as? String)?.hasPrefix("the retro-scan failed") == true, "\(r)")
                let refId = try #require(r["ref_id"] as? String)
                #expect(try h.service.store.read { try h.service.store.known.reference(refId, $0) } != nil)

                try Self.repair(h)
                let (s2, again) = try await h.post("/admin/known-content", #"{"uri":"\#(Self.track)"}"#)
                #expect(s2 == 200 && again["already"] as? Bool == true, "\(again)")
                let retro = try #require(again["retro_scan"] as? [String: Any], "the retry re-ran the retro-scan: \(again)")
                #expect(retro["error"] == nil && retro["checked"] as? Int != nil)
            }
        }
    }

    @Test func aConfirmationNamesTheReferencesAddedAndTheSubjectsWithoutAFingerprint() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                _ = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","uri":"\#(Self.track)"}"#)
                _ = try await h.emit(Self.unscanned)
                try Self.damage(h)
                let (_, batch) = try await h.post("/admin/batches", #"{"uris":["\#(Self.track)","\#(Self.unscanned)"]}"#)
                let id = try #require(batch["id"] as? String)
                let (status, r) = try await h.post(
                    "/admin/review/\(id)/submit",
                    #"{"decisions":[{"uri":"\#(Self.track)","decision":"confirm"},{"uri":"\#(Self.unscanned)","decision":"confirm"}]}"#)
                #expect(status == 200 && r["status"] as? String == "completed", "the decisions are recorded despite the retro-scan: \(r)")
                #expect(r["references_added"] as? [String] == [Self.track] && r["no_fingerprint"] as? [String] == [Self.unscanned], "\(r)")
                #expect((r["retro_scan_errors"] as? [String])?.count == 1, "\(r)")
            }
        }
    }
}
