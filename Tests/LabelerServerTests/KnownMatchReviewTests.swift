import EventLog
import Foundation
import LabelerCore
import Projections
import Replay
import Testing

@testable import LabelerServer

/// Borderline known-content matches are judged by a person: `flag` labels the subject with the
/// reference as evidence (and caches its bytes as flagged), `dismiss` only records the judgement;
/// each match is judged once.
struct KnownMatchReviewTests {
    static let a = "at://did:plc:upa/fm.plyr.track/border"
    static let c = "at://did:plc:upc/fm.plyr.track/strong"
    static let d = "at://did:plc:upd/fm.plyr.track/flagged"

    func matched(_ uri: String?, hash: String?, verdict: String) -> KnownContentMatched {
        KnownContentMatched(source: "scan", uri: uri, contentHash: hash, match: KnownMatch(
            refId: "ref-one", uploadOffsetMs: 4_000, referenceOffsetMs: 30_000, matchedMs: 14_000, berBasisPoints: 1_600, verdict: verdict))
    }

    @Test func flagLabelsTheSubjectDismissRecordsAndEachMatchIsJudgedOnce() async throws {
        try await Harness.run { h in
            let log = h.service.log
            _ = try await log.append(KnownContentAdded(
                refId: "ref-one", reason: "admin", uri: nil, contentHash: nil, fingerprint: [1, 2, 3, 4], work: "Old Band - Hit").event(actor: .admin()))
            let seqA = try await log.append(matched(Self.a, hash: "bafkreihasha", verdict: "review").event(actor: .scanner))
            let seqB = try await log.append(matched(nil, hash: "bafkreihashb", verdict: "review").event(actor: .scanner))
            let seqC = try await log.append(matched(Self.c, hash: "bafkreihashc", verdict: "flag").event(actor: .scanner))
            try await h.emit(Self.d)
            let seqD = try await log.append(matched(Self.d, hash: "bafkreihashd", verdict: "review").event(actor: .scanner))

            // The dashboard lists the three borderline ones with their actions (flag only for a subject).
            let before = try await AdminUITests.fetch(h, "/admin/partials/known-review", admin: true).body
            #expect(before.contains("data-count=\"3\"") && before.contains("data-reviewed=\"0\""), "\(before)")
            #expect(before.contains("data-known-action=\"flag\" data-seq=\"\(seqA)\""))
            #expect(!before.contains("data-known-action=\"flag\" data-seq=\"\(seqB)\"") && before.contains("data-known-action=\"dismiss\" data-seq=\"\(seqB)\""))

            // Refused, and nothing appended: unknown, not borderline, nothing to label, bad input.
            let head = log.head
            let refused: [(String, String, Int)] = [
                ("/admin/known-content/matches/999999/review", "{\"decision\":\"dismiss\"}", 404),
                ("/admin/known-content/matches/\(seqC)/review", "{\"decision\":\"flag\"}", 400),
                ("/admin/known-content/matches/\(seqB)/review", "{\"decision\":\"flag\"}", 400),
                ("/admin/known-content/matches/abc/review", "{\"decision\":\"dismiss\"}", 400),
                ("/admin/known-content/matches/0/review", "{\"decision\":\"dismiss\"}", 400),
                ("/admin/known-content/matches/\(seqA)/review", "{\"decision\":\"maybe\"}", 400),
                ("/admin/known-content/matches/\(seqA)/review", "{}", 400),
                ("/admin/known-content/matches/\(seqA)/review", "{\"decision\":\"flag\",\"decided\":\"Ana\"}", 400),
                ("/admin/known-content/matches/\(seqA)/review", "{\"decision\":\"flag\",\"decided_by\":\"A\\nB\"}", 400),
            ]
            for (path, body, status) in refused {
                let (s, e) = try await h.post(path, body)
                #expect(s == status && (e["message"] as? String)?.isEmpty == false, "\(path) \(body) → \(s) \(e)")
            }
            #expect(log.head == head)
            let (s401, _) = try await h.post("/admin/known-content/matches/\(seqA)/review", "{\"decision\":\"flag\"}", headers: [.contentType: "application/json"])
            #expect(s401 == 401)

            // flag: the review, the label and its evidence, in one append, by the named operator.
            let (s1, r1) = try await h.post("/admin/known-content/matches/\(seqA)/review", "{\"decision\":\"flag\",\"decided_by\":\"Ana\",\"notes\":\"same riff\"}")
            #expect(s1 == 200 && r1["labelled"] as? Bool == true && r1["decision"] as? String == "flag", "\(r1)")
            let appended = try log.read(from: head + 1, limit: 10)
            #expect(appended.map(\.envelope.type) == ["known-content.match-reviewed", "label.applied", "track.context-attached"])
            #expect(appended.allSatisfy { $0.envelope.actor == "admin:Ana" })
            let labels = try await h.queryAll([Self.a], limit: 50)
            #expect(labels.count == 1 && labels[0]["val"] as? String == "copyright-violation" && labels[0]["neg"] == nil)
            let (_, flags) = try await h.get("/admin/flags?filter=pending", admin: true)
            let flag = try #require((flags["tracks"] as! [[String: Any]]).first { $0["uri"] as? String == Self.a })
            let evidence = ((flag["context"] as? [String: Any])?["matches"] as? [[String: Any]])?.first
            #expect(evidence?["title"] as? String == "Old Band - Hit" && evidence?["artist"] as? String == "Known content", "\(flag)")
            let cached = try h.service.store.read { try h.service.store.verdicts.verdict(contentHash: "bafkreihasha", $0) }
            #expect(cached?.flagged == true, "the same bytes uploaded again are flagged for free")

            // Judged once: a second judgement of the same match is a conflict and changes nothing.
            let head2 = log.head
            let (s2, e2) = try await h.post("/admin/known-content/matches/\(seqA)/review", "{\"decision\":\"dismiss\"}")
            #expect(s2 == 409 && (e2["message"] as? String)?.contains("admin:Ana") == true, "\(e2)")
            #expect(log.head == head2)

            // dismiss: recorded, nothing labelled; flag on a subject already flagged: no second label.
            let (s3, r3) = try await h.post("/admin/known-content/matches/\(seqB)/review", "{\"decision\":\"dismiss\"}")
            #expect(s3 == 200 && r3["labelled"] as? Bool == false)
            let (s4, r4) = try await h.post("/admin/known-content/matches/\(seqD)/review", "{\"decision\":\"flag\"}")
            #expect(s4 == 200 && r4["labelled"] as? Bool == false)
            #expect(try await h.queryAll([Self.d], limit: 50).count == 1)
            #expect(try log.read(from: head2 + 1, limit: 10).map(\.envelope.type) == ["known-content.match-reviewed", "known-content.match-reviewed"])

            // Judged ones leave the dashboard's list; the API shows each judgement.
            let after = try await AdminUITests.fetch(h, "/admin/partials/known-review", admin: true).body
            #expect(after.contains("data-count=\"0\"") && after.contains("data-reviewed=\"3\"") && after.contains("3 judged already"), "\(after)")
            let (_, listed) = try await h.get("/admin/known-content", admin: true)
            let reviews = (listed["matches"] as! [[String: Any]]).compactMap { m -> String? in
                (m["review"] as? [String: Any]).map { "\(m["seq"]!):\($0["decision"]!):\($0["by"]!)" }
            }
            #expect(Set(reviews) == ["\(seqA):flag:admin:Ana", "\(seqB):dismiss:admin", "\(seqD):flag:admin"], "\(reviews)")

            // The subject's history tells the story.
            let story = try History.entries(store: h.service.store, subject: Self.a).map(\.summary)
            #expect(story.contains { $0.contains("reviewed, flagged: it is the reference's work — same riff") }, "\(story)")
        }
    }

    /// `flag` does not override earlier decisions: a reference taken out of force flags nothing,
    /// a flag an operator resolved stays resolved, and bytes cleared for their uploader stay
    /// cleared for that uploader when another upload of them is judged a copy.
    @Test func aJudgementDoesNotOverrideEarlierDecisions() async throws {
        try await Harness.run { h in
            let log = h.service.log
            _ = try await log.append(KnownContentAdded(
                refId: "ref-one", reason: "admin", uri: nil, contentHash: nil, fingerprint: [1, 2, 3, 4], work: nil).event(actor: .admin()))
            _ = try await log.append(KnownContentAdded(
                refId: "ref-two", reason: "admin", uri: nil, contentHash: nil, fingerprint: [5, 6, 7, 8], work: nil).event(actor: .admin()))
            _ = try await h.post("/admin/known-content/remove", "{\"ref_id\":\"ref-two\",\"reason\":\"licensed\"}")
            func borderline(_ uri: String, _ hash: String, ref: String = "ref-one") async throws -> UInt64 {
                try await log.append(KnownContentMatched(source: "scan", uri: uri, contentHash: hash, match: KnownMatch(
                    refId: ref, uploadOffsetMs: 0, referenceOffsetMs: 0, matchedMs: 14_000, berBasisPoints: 1_600, verdict: "review")).event(actor: .scanner))
            }
            // A removed reference: 409, and the card offers no flag button.
            let removedSeq = try await borderline("at://did:plc:r/fm.plyr.track/1", "bafkreiremoved", ref: "ref-two")
            let html = try await AdminUITests.fetch(h, "/admin/partials/known-review", admin: true).body
            #expect(!html.contains("data-known-action=\"flag\" data-seq=\"\(removedSeq)\"") && html.contains("reference removed"))
            var head = log.head
            let (s1, e1) = try await h.post("/admin/known-content/matches/\(removedSeq)/review", "{\"decision\":\"flag\"}")
            #expect(s1 == 409 && (e1["message"] as? String)?.contains("out of force") == true, "\(e1)")
            #expect(log.head == head)

            // The original artist's upload: scanned flagged, then cleared as original_artist by a person.
            let original = "at://did:plc:artistx/fm.plyr.track/own"
            try await h.emit(original)
            _ = try await log.append(ScanRecorded(
                scanId: "s1", uri: original, audioURL: "https://cdn.example/a.mp3", status: .ok, matches: [ScanMatch(artist: "A", title: "T", score: 90)],
                isFlagged: true, highestScore: 90, estimatedRequests: 20, contentHash: "bafkreishared").event(actor: .scanner))
            let (sr, _) = try await h.post("/admin/resolve", "{\"uri\":\"\(original)\",\"reason\":\"original_artist\",\"resolved_by\":\"Ana\"}")
            #expect(sr == 200)
            // A borderline match on that very subject: its resolution stands (409).
            let ownSeq = try await borderline(original, "bafkreishared")
            head = log.head
            let (s2, e2) = try await h.post("/admin/known-content/matches/\(ownSeq)/review", "{\"decision\":\"flag\"}")
            #expect(s2 == 409 && (e2["message"] as? String)?.contains("original_artist by admin:Ana") == true, "\(e2)")
            #expect(log.head == head)
            // Someone else's upload of the same bytes judged a copy: flagged, yet still clean for artist x.
            let copySeq = try await borderline("at://did:plc:someoney/fm.plyr.track/copy", "bafkreishared")
            let (s3, r3) = try await h.post("/admin/known-content/matches/\(copySeq)/review", "{\"decision\":\"flag\"}")
            #expect(s3 == 200 && r3["labelled"] as? Bool == true)
            let cached = try #require(try h.service.store.read { try h.service.store.verdicts.verdict(contentHash: "bafkreishared", $0) })
            #expect(cached.flagged && cached.cleared == "original_artist" && cached.clearedFor == ["did:plc:artistx"], "\(cached)")
        }
    }
}
