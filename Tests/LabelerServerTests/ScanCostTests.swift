import EventLog
import Foundation
import LabelerServer
import Testing

/// Spend over the API: per scan (billed vs a full scan's cost) and in total.
struct ScanCostTests {
    @Test func costsShowBilledAgainstFullScansInTotalAndPerScan() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd, environment: ["AUDD_USD_PER_1000": "5"]) { h in
                // A full 4-min scan (20), a sampled hour-long mix (22 of 300), a cache hit (0 of 20),
                // a failed download (0).
                _ = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))"}"#)
                _ = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("mix.mp3"))","uri":"at://did:plc:dj/fm.plyr.track/3kmix"}"#)
                _ = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))"}"#)
                _ = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("gone.wav"))"}"#)

                let (status, c) = try await h.get("/admin/costs", admin: true)
                #expect(status == 200, "\(c)")
                #expect(c["scans"] as? Int == 4 && c["failed"] as? Int == 1 && c["flagged"] as? Int == 1)
                #expect(c["estimated_requests"] as? Int == 42 && c["billed_requests"] as? Int == 42)
                #expect(audd.billed() == 42, "the labeler's count is AuDD's count")
                #expect(c["full_scan_requests"] as? Int == 340 && c["saved_requests"] as? Int == 298)
                #expect(c["savings_factor"] as? Double == 8.1)
                #expect(c["usd_billed"] as? Double == 0.21 && c["usd_full_scan"] as? Double == 1.7)
                #expect(c["escalated_scans"] as? Int == 0 && c["unknown_duration_scans"] as? Int == 0)
                let byPlan = try #require(c["by_plan"] as? [String: [String: Int]])
                #expect(byPlan["full"] == ["scans": 1, "billed_requests": 20, "full_scan_requests": 20])
                #expect(byPlan["sampled"] == ["scans": 1, "billed_requests": 22, "full_scan_requests": 300])
                #expect(byPlan["cache-hit"] == ["scans": 1, "billed_requests": 0, "full_scan_requests": 20])
                #expect(byPlan["failed"] == ["scans": 1, "billed_requests": 0, "full_scan_requests": 0])

                let recent = try #require(c["recent"] as? [[String: Any]])
                #expect(recent.count == 4)
                #expect(recent.map { $0["plan"] as? String } == [nil, "cache-hit", "sampled", "full"])
                #expect(recent[2]["billed_requests"] as? Int == 22 && recent[2]["full_scan_requests"] as? Int == 300)
                #expect(recent[2]["saved_requests"] as? Int == 278 && recent[2]["uri"] as? String == "at://did:plc:dj/fm.plyr.track/3kmix")
                #expect(recent[0]["status"] as? String == "failed" && recent[0]["billed_requests"] as? Int == 0)

                // Paging: two at a time, with the cursor.
                let (_, p1) = try await h.get("/admin/costs?limit=2", admin: true)
                let cursor = try #require(p1["cursor"] as? String)
                let (_, p2) = try await h.get("/admin/costs?limit=2&before=\(cursor)", admin: true)
                let seqs = ((p1["recent"] as? [[String: Any]]) ?? []) + ((p2["recent"] as? [[String: Any]]) ?? [])
                #expect(seqs.map { ($0["seq"] as? NSNumber)?.intValue } == recent.map { ($0["seq"] as? NSNumber)?.intValue })

                for bad in ["limit=-1", "limit=1001", "limit=x", "before=-3"] {
                    let (s, r) = try await h.get("/admin/costs?\(bad)", admin: true)
                    #expect(s == 400 && r["error"] as? String == "InvalidRequest", "\(bad)")
                }
                let (unauth, _) = try await h.get("/admin/costs")
                #expect(unauth == 401)
            }
        }
    }
}
