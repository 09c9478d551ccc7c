import EventLog
import Foundation
import LabelerCore
import LabelerServer
import LabelerTestSupport
import Testing

/// The whole operator story, end to end, on the real server with a fake AuDD.
struct OperatorStoryTests {
    static let uri = "at://did:plc:uploader/fm.plyr.track/3kstory"

    @Test func scanFlagReviewClearAndTheHistoryTellsItInOrder() async throws {
        let dir = TempDir()
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd, dir: dir) { h in
                // 1. A scan flags the track: label + context in the same append as the scan.
                let (s, scan) = try await h.post("/scan", """
                    {"audio_url":"\(audd.audioURL("dominant.mp3"))","uri":"\(Self.uri)",
                     "context":{"track_id":42,"track_title":"Around the World (cover)","artist_handle":"uploader.bsky.social"}}
                    """)
                #expect(s == 200 && scan["is_flagged"] as? Bool == true, "\(scan)")
                let labelSeq = (scan["label_seq"] as! NSNumber).uint64Value
                let (_, costs) = try await h.get("/admin/costs", admin: true)
                #expect(costs["scans"] as? Int == 1 && costs["flagged"] as? Int == 1)
                #expect(costs["estimated_requests"] as? Int == (scan["estimated_requests"] as? Int))

                // 2. The label is in queryLabels and on the stream.
                let served = try await h.queryAll([Self.uri], limit: 10)
                #expect(served.count == 1 && served[0]["val"] as? String == "copyright-violation")
                let (frames, _) = try await h.subscribe(cursor: labelSeq - 1) { $0.count >= 1 }
                #expect(frames.first?.labelSeq == labelSeq)

                // 3. The flag is pending with its context.
                let (_, pending) = try await h.get("/admin/flags?filter=pending", admin: true)
                let flag = (pending["tracks"] as! [[String: Any]]).first { $0["uri"] as? String == Self.uri }!
                #expect((flag["context"] as! [String: Any])["track_title"] as? String == "Around the World (cover)")

                // 4. A batch, a `clear`: negation on the stream, flag resolved, batch completed.
                let (_, batch) = try await h.post("/admin/batches", "{\"created_by\":\"alice\"}")
                let id = batch["id"] as! String
                let streamAt = h.service.log.head
                let (ss, submit) = try await h.post("/admin/review/\(id)/submit", "{\"decisions\":[{\"uri\":\"\(Self.uri)\",\"decision\":\"clear\"}]}")
                #expect(ss == 200 && submit["status"] as? String == "completed")
                let (neg, _) = try await h.subscribe(cursor: streamAt) { $0.count >= 1 }
                #expect(neg.first?.labels.first?.isNegation == true && neg.first?.labels.first?.uri == Self.uri)
                let (_, resolved) = try await h.get("/admin/flags?filter=resolved", admin: true)
                let r = (resolved["tracks"] as! [[String: Any]]).first { $0["uri"] as? String == Self.uri }!
                #expect((r["resolution"] as! [String: Any])["reason"] as? String == "fingerprint_noise")
                let (_, data) = try await h.get("/admin/review/\(id)/data", admin: true)
                #expect(data["status"] as? String == "completed")

                // 5. `labeler replay history` (another process, read-only) tells the story in order.
                let process = Process()
                process.executableURL = productsDirectory().appendingPathComponent("labeler")
                process.arguments = ["replay", "history", "--data-dir", dir.path, Self.uri, "--json"]
                let out = Pipe()
                process.standardOutput = out
                try process.run()
                process.waitUntilExit()
                let json = try JSONSerialization.jsonObject(with: out.fileHandleForReading.readDataToEndOfFile()) as! [String: Any]
                let events = json["events"] as! [[String: Any]]
                let types = events.map { $0["type"] as! String }
                #expect(types == [
                    "scan.recorded", "label.applied", "track.context-attached", "review.batch-created",
                    "review.decision-recorded", "label.applied", "flag.resolved",
                ], "\(types)")
                let seqs = events.map { ($0["seq"] as! NSNumber).uint64Value }
                #expect(seqs == seqs.sorted())
                #expect(events.map { $0["actor"] as! String }.first == "scanner")
            }
        }
    }
}

struct RescanTests {
    /// A track that already has a flag (open, or cleared by an operator) is not labelled again by
    /// a re-scan; the scan is still recorded, with why.
    @Test func aRescanDoesNotLabelAFlaggedOrClearedTrackAgain() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let u = OperatorStoryTests.uri
                let body = "{\"audio_url\":\"\(audd.audioURL("dominant.mp3"))\",\"uri\":\"\(u)\"}"
                let (_, first) = try await h.post("/scan", body)
                #expect(first["label_seq"] != nil)
                let (_, again) = try await h.post("/scan", body)
                #expect(again["label_seq"] == nil && (again["flag_reason"] as? String)?.contains("already pending") == true)
                _ = try await h.post("/admin/resolve", "{\"uri\":\"\(u)\",\"reason\":\"original_artist\"}")
                let (_, after) = try await h.post("/scan", body)
                #expect(after["label_seq"] == nil && (after["flag_reason"] as? String)?.contains("original_artist") == true)
                let positives = try await h.queryAll([u], limit: 10).filter { $0["neg"] == nil }
                #expect(positives.isEmpty, "the operator's clearance stands")
                let (_, costs) = try await h.get("/admin/costs", admin: true)
                #expect(costs["scans"] as? Int == 3)
            }
        }
    }
}
