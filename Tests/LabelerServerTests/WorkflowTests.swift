import EventLog
import Foundation
import LabelerCore
import LabelerServer
import Testing

struct WorkflowTests {
    static let uri = "at://did:plc:artist1/fm.plyr.track/3kwork"

    @Test func resolvingTwiceEmitsOneNegationAndEveryReasonRoundTrips() async throws {
        try await Harness.run { h in
            for (i, reason) in ResolutionReason.allCases.enumerated() {
                let u = "at://did:plc:artist1/fm.plyr.track/r\(i)"
                try await h.emit(u)
                let (s1, b1) = try await h.post("/admin/resolve", "{\"uri\":\"\(u)\",\"reason\":\"\(reason.rawValue)\",\"notes\":\"n\(i)\"}")
                #expect(s1 == 200 && b1["already_resolved"] as? Bool == false)
                let head = h.service.log.head
                let (s2, b2) = try await h.post("/admin/resolve", "{\"uri\":\"\(u)\",\"reason\":\"other\"}")
                #expect(s2 == 200 && b2["already_resolved"] as? Bool == true)
                #expect(h.service.log.head == head, "a second resolve appends nothing")
            }
            let (_, all) = try await h.get("/admin/flags?filter=resolved", admin: true)
            let tracks = all["tracks"] as! [[String: Any]]
            #expect(tracks.count == ResolutionReason.allCases.count)
            let reasons = Set(tracks.map { ($0["resolution"] as! [String: Any])["reason"] as! String })
            #expect(reasons == Set(ResolutionReason.allCases.map(\.rawValue)))
            let negations = try await h.queryAll(["at://did:plc:artist1/*"], limit: 50).filter { $0["neg"] as? Bool == true }
            #expect(negations.count == ResolutionReason.allCases.count)
        }
    }

    @Test func concurrentResolutionsOfOneFlagEmitOneNegation() async throws {
        try await Harness.run { h in
            try await h.emit(Self.uri)
            try await withThrowingTaskGroup(of: Void.self) { g in
                for _ in 0..<8 { g.addTask { _ = try await h.post("/admin/resolve", "{\"uri\":\"\(Self.uri)\",\"reason\":\"licensed\"}") } }
                try await g.waitForAll()
            }
            let events = try h.service.log.read(from: 1, limit: 100).map { try $0.envelope.decodeEvent() }
            let negs = events.filter { if case .labelApplied(let l) = $0 { return l.label.isNegation } else { return false } }
            #expect(negs.count == 1)
        }
    }

    @Test func batchesRecordDecisionsAndComplete() async throws {
        try await Harness.run { h in
            let uris = (0..<3).map { "at://did:plc:artist9/fm.plyr.track/b\($0)" }
            for u in uris { try await h.emit(u) }
            let (s, b) = try await h.post("/admin/batches", "{\"created_by\":\"alice\"}")
            #expect(s == 200 && (b["flag_count"] as? Int) == 3)
            let id = b["id"] as! String
            #expect(id.count >= 26, "ids are unguessable (128 random bits)")
            let (s1, r1) = try await h.post("/admin/review/\(id)/submit", "{\"decisions\":[{\"uri\":\"\(uris[0])\",\"decision\":\"clear\"},{\"uri\":\"\(uris[1])\",\"decision\":\"defer\"}]}")
            #expect(s1 == 200 && r1["status"] as? String == "pending" && r1["resolved_count"] as? Int == 1)
            let (s2, r2) = try await h.post("/admin/review/\(id)/submit", "{\"decisions\":[{\"uri\":\"\(uris[2])\",\"decision\":\"confirm\"}]}")
            #expect(s2 == 200 && r2["status"] as? String == "completed")
            let (_, data) = try await h.get("/admin/review/\(id)/data", admin: true)
            #expect(data["status"] as? String == "completed")
            let flags = data["flags"] as! [[String: Any]]
            #expect(Set(flags.map { $0["decision"] as! String }) == ["clear", "defer", "confirm"])
            let states = Dictionary(uniqueKeysWithValues: flags.map { ($0["uri"] as! String, $0["state"] as! String) })
            #expect(states == [uris[0]: "resolved", uris[1]: "pending", uris[2]: "confirmed"])
            let (s3, e3) = try await h.post("/admin/review/\(id)/submit", "{\"decisions\":[{\"uri\":\"\(uris[1])\",\"decision\":\"clear\"}]}")
            #expect(s3 == 409 && e3["error"] as? String == "Conflict")
            let (s4, _) = try await h.get("/admin/review/nosuchbatch/data", admin: true)
            #expect(s4 == 404)
            // Where its link was delivered (the loop says so once a notice arrives).
            #expect(data["announced_at"] is NSNull && (data["announced_to"] as? [String]) == [])
            let (s5, _) = try await h.post("/admin/review/\(id)/announced", "{\"destinations\":[\"Bluesky DM to @alice.test\"]}")
            _ = try await h.post("/admin/review/\(id)/announced", "{\"destinations\":[\"standard output\"]}")
            let (_, announced) = try await h.get("/admin/review/\(id)/data", admin: true)
            #expect(s5 == 200 && announced["announced_at"] is String)
            #expect(announced["announced_to"] as? [String] == ["Bluesky DM to @alice.test", "standard output"])
            let head = h.service.log.head
            for (path, body, status) in [("/admin/review/nosuchbatch/announced", "{\"destinations\":[\"x\"]}", 404),
                                         ("/admin/review/\(id)/announced", "{\"destinations\":[]}", 400),
                                         ("/admin/review/\(id)/announced", "{}", 400),
                                         ("/admin/review/\(id)/announced", "{\"destinations\":[\"a\\nb\"]}", 400)] {
                let (s, e) = try await h.post(path, body)
                #expect(s == status && e["message"] != nil, "\(path) \(body) → \(s)")
            }
            #expect(h.service.log.head == head)
        }
    }

    /// Every operator command can say who decided; the log records it as the actor `admin:NAME`
    /// (what `replay history` and the dashboard's timeline show), and `admin` when nobody is named.
    @Test func operatorsAreRecordedAsTheActorOfTheirDecisions() async throws {
        try await Harness.run { h in
            let uris = (0..<3).map { "at://did:plc:artist7/fm.plyr.track/o\($0)" }
            for u in uris { try await h.emit(u) }
            func actors(from seq: UInt64) throws -> [String] {
                try h.service.log.read(from: seq, limit: 100).map(\.envelope.actor)
            }
            var head = h.service.log.head
            let (s1, _) = try await h.post("/admin/resolve", "{\"uri\":\"\(uris[0])\",\"reason\":\"licensed\",\"resolved_by\":\"Ana Lima\"}")
            #expect(s1 == 200)
            #expect(try actors(from: head + 1) == ["admin:Ana Lima", "admin:Ana Lima"], "the negation and the resolution")
            let (_, b) = try await h.post("/admin/batches", "{\"uris\":[\"\(uris[1])\",\"\(uris[2])\"],\"created_by\":\"Ana Lima\"}")
            let batch = b["id"] as! String
            head = h.service.log.head
            let (s2, _) = try await h.post("/admin/review/\(batch)/submit", "{\"decisions\":[{\"uri\":\"\(uris[1])\",\"decision\":\"clear\"}],\"decided_by\":\"Bo\"}")
            #expect(s2 == 200)
            let decided = try actors(from: head + 1)
            #expect(decided.count == 3 && decided.allSatisfy { $0 == "admin:Bo" }, "\(decided)")
            head = h.service.log.head
            let (s3, _) = try await h.post("/admin/review/\(batch)/submit", "{\"decisions\":[{\"uri\":\"\(uris[2])\",\"decision\":\"defer\"}]}")
            #expect(s3 == 200)
            #expect(try actors(from: head + 1).allSatisfy { $0 == "admin" }, "no name: plain admin")
            head = h.service.log.head
            let (_, img) = try await h.post("/admin/sensitive-images", "{\"image_id\":\"img7\",\"flagged_by\":\"Cy\"}")
            #expect(try actors(from: head + 1) == ["admin:Cy"])
            head = h.service.log.head
            let (s4, _) = try await h.post("/admin/sensitive-images/remove", "{\"id\":\((img["id"] as! NSNumber).intValue),\"removed_by\":\"Cy\"}")
            #expect(s4 == 200)
            #expect(try actors(from: head + 1) == ["admin:Cy"])
            // Names that would forge a line in a history, or say nothing, are refused.
            head = h.service.log.head
            for body in ["{\"uri\":\"\(uris[2])\",\"reason\":\"other\",\"resolved_by\":\"Ana\\nseq 1 admin\"}",
                         "{\"uri\":\"\(uris[2])\",\"reason\":\"other\",\"resolved_by\":\"  \"}",
                         "{\"uri\":\"\(uris[2])\",\"reason\":\"other\",\"resolved_by\":\"Ana\\u202e\"}",
                         "{\"uri\":\"\(uris[2])\",\"reason\":\"other\",\"resolved_by\":\"A\\u2028B\"}",
                         "{\"uri\":\"\(uris[2])\",\"reason\":\"other\",\"resolved_by\":\"\(String(repeating: "n", count: 257))\"}"] {
                let (s, e) = try await h.post("/admin/resolve", body)
                #expect(s == 400 && (e["message"] as? String)?.contains("resolved_by") == true, "\(body) → \(s) \(e)")
            }
            #expect(h.service.log.head == head)
        }
    }

    /// `skip_batched`: a flag waiting undecided in a pending batch is not batched again (two loop
    /// runs at once); without it, the original's behaviour (a flag may be in several batches).
    @Test func skipBatchedLeavesOutFlagsWaitingInAnotherBatch() async throws {
        try await Harness.run { h in
            let uris = (0..<3).map { "at://did:plc:artist8/fm.plyr.track/s\($0)" }
            for u in uris { try await h.emit(u) }
            let (_, first) = try await h.post("/admin/batches", "{\"uris\":[\"\(uris[0])\",\"\(uris[1])\"]}")
            let firstId = first["id"] as! String
            let (s1, second) = try await h.post("/admin/batches", "{\"uris\":[\"\(uris[0])\",\"\(uris[1])\",\"\(uris[2])\"],\"skip_batched\":true}")
            #expect(s1 == 200 && second["flag_count"] as? Int == 1 && second["skipped"] as? [String] == [uris[0], uris[1]], "\(second)")
            let (_, data) = try await h.get("/admin/review/\(second["id"] as! String)/data", admin: true)
            #expect((data["flags"] as! [[String: Any]]).map { $0["uri"] as! String } == [uris[2]])
            // All of them waiting already: a conflict, nothing appended.
            let head = h.service.log.head
            let (s2, e2) = try await h.post("/admin/batches", "{\"uris\":[\"\(uris[0])\"],\"skip_batched\":true}")
            #expect(s2 == 409 && (e2["message"] as? String)?.contains(firstId) == true, "\(e2)")
            #expect(h.service.log.head == head)
            // A decided flag no longer waits: it may be batched again.
            _ = try await h.post("/admin/review/\(firstId)/submit", "{\"decisions\":[{\"uri\":\"\(uris[0])\",\"decision\":\"defer\"}]}")
            let (s3, third) = try await h.post("/admin/batches", "{\"uris\":[\"\(uris[0])\",\"\(uris[1])\"],\"skip_batched\":true}")
            #expect(s3 == 200 && third["flag_count"] as? Int == 1 && third["skipped"] as? [String] == [uris[1]], "\(third)")
            // Without the option: as the original, no check.
            let (s4, fourth) = try await h.post("/admin/batches", "{\"uris\":[\"\(uris[1])\"]}")
            #expect(s4 == 200 && fourth["flag_count"] as? Int == 1 && fourth["skipped"] == nil)
            let (s5, _) = try await h.post("/admin/batches", "{\"uris\":[\"\(uris[1])\"],\"skip_batched\":\"yes\"}")
            #expect(s5 == 400)
        }
    }

    @Test func sensitiveImagesAndReports() async throws {
        try await Harness.run { h in
            let (s1, a) = try await h.post("/admin/sensitive-images", "{\"image_id\":\"img1\",\"reason\":\"nsfw\"}")
            #expect(s1 == 200)
            _ = try await h.post("/admin/sensitive-images", "{\"url\":\"https://cdn.example/x.png\"}")
            let (_, pub) = try await h.get("/sensitive-images")
            #expect(pub["image_ids"] as? [String] == ["img1"] && pub["urls"] as? [String] == ["https://cdn.example/x.png"])
            let (s2, rm) = try await h.post("/admin/sensitive-images/remove", "{\"id\":\((a["id"] as! NSNumber).intValue)}")
            #expect(s2 == 200 && rm["removed"] as? Bool == true)
            let (_, rm2) = try await h.post("/admin/sensitive-images/remove", "{\"url\":\"https://cdn.example/x.png\"}")
            #expect(rm2["removed"] as? Bool == true)
            let (_, none) = try await h.post("/admin/sensitive-images/remove", "{\"id\":999}")
            #expect(none["removed"] as? Bool == false)
            let (_, pub2) = try await h.get("/sensitive-images")
            #expect((pub2["image_ids"] as! [String]).isEmpty && (pub2["urls"] as! [String]).isEmpty)

            let report = "{\"reasonType\":\"com.atproto.moderation.defs#reasonSpam\",\"reason\":\"spam\",\"subject\":{\"$type\":\"com.atproto.repo.strongRef\",\"uri\":\"\(Self.uri)\",\"cid\":\"bafyreiham727jj3i4dqipf4vhtbhq4vgdxbpdqxj6vlppeatvnlekheg6u\"}}"
            let (s3, r) = try await h.post("/xrpc/com.atproto.moderation.createReport", report, headers: [.contentType: "application/json"])
            #expect(s3 == 200 && r["id"] != nil)
            let (_, q) = try await h.get("/admin/reports?status=open", admin: true)
            #expect((q["reports"] as! [[String: Any]]).count == 1)
            let id = (r["id"] as! NSNumber).intValue
            let (s4, res) = try await h.post("/admin/reports/\(id)/resolve", "{\"status\":\"dismissed\",\"admin_notes\":\"not spam\",\"resolved_by\":\"alice\"}")
            #expect(s4 == 200 && res["status"] as? String == "dismissed" && res["admin_notes"] as? String == "not spam")
            let (_, q2) = try await h.get("/admin/reports?status=open", admin: true)
            #expect((q2["reports"] as! [[String: Any]]).isEmpty)
            // The per-client rate limit (10 a minute).
            var statuses: [Int] = []
            for _ in 0..<12 {
                statuses.append(try await h.post("/xrpc/com.atproto.moderation.createReport", report, headers: [.contentType: "application/json"]).0)
            }
            #expect(statuses.filter { $0 == 429 }.count == 3, "\(statuses)")
        }
    }

    @Test func badInputOnEveryRouteIsRefusedAndAppendsNothing() async throws {
        try await Harness.run { h in
            try await h.emit(Self.uri)
            let (_, b) = try await h.post("/admin/batches", "{}")
            let batch = b["id"] as! String
            let head = h.service.log.head
            let long = String(repeating: "x", count: 20_000)
            let cases: [(String, String)] = [
                ("/admin/context", "{}"),
                ("/admin/context", "{\"uri\":\"nope\"}"),
                ("/admin/context", "{\"uri\":\"\(Self.uri)\",\"track_id\":\"12\"}"),
                ("/admin/context", "{\"uri\":\"\(Self.uri)\",\"highest_score\":250}"),
                ("/admin/context", "{\"uri\":\"\(Self.uri)\",\"highest_score\":-1}"),
                ("/admin/context", "{\"uri\":\"\(Self.uri)\",\"artist_did\":\"bob\"}"),
                ("/admin/context", "{\"uri\":\"\(Self.uri)\",\"matches\":[{\"title\":\"t\"}]}"),
                ("/admin/context", "{\"uri\":\"\(Self.uri)\",\"track_title\":\"\(long)\"}"),
                ("/admin/resolve", "{\"uri\":\"\(Self.uri)\"}"),
                ("/admin/resolve", "{\"uri\":\"\(Self.uri)\",\"reason\":\"because\"}"),
                ("/admin/resolve", "{\"uri\":\"\(Self.uri)\",\"reason\":5}"),
                ("/admin/resolve", "{\"uri\":\"bad uri\",\"reason\":\"other\"}"),
                ("/admin/resolve", "{\"uri\":\"\(Self.uri)\",\"val\":\"spam\",\"reason\":\"other\"}"),
                ("/admin/batches", "{\"uris\":[\"at://did:plc:nobody/fm.plyr.track/1\"]}"),
                ("/admin/batches", "{\"uris\":\"x\"}"),
                ("/admin/batches", "{\"uris\":[" + Array(repeating: "\"\(Self.uri)\"", count: 1001).joined(separator: ",") + "]}"),
                ("/admin/review/\(batch)/submit", "{}"),
                ("/admin/review/\(batch)/submit", "{\"decisions\":[]}"),
                ("/admin/review/\(batch)/submit", "{\"decisions\":[{\"uri\":\"\(Self.uri)\",\"decision\":\"nuke\"}]}"),
                ("/admin/review/\(batch)/submit", "{\"decisions\":[{\"uri\":\"at://did:plc:x/fm.plyr.track/2\",\"decision\":\"clear\"}]}"),
                ("/admin/review/\(batch)/submit", "{\"decisions\":[{\"uri\":\"\(Self.uri)\",\"decision\":\"clear\"},{\"uri\":\"\(Self.uri)\",\"decision\":\"defer\"}]}"),
                ("/admin/review/\(batch)/submit", "{\"decisions\":[{\"uri\":\"\(Self.uri)\",\"decision\":\"clear\"}],\"decided_by\":\"a\\u0007b\"}"),
                ("/admin/review/\(batch)/submit", "{\"decisions\":[{\"uri\":\"\(Self.uri)\",\"decision\":\"clear\"}],\"decided_by\":\"\"}"),
                ("/admin/batches", "{\"created_by\":\"x\\ty\"}"),
                ("/admin/sensitive-images/remove", "{\"id\":1,\"removed_by\":\"\(long)\"}"),
                ("/admin/reports/1/resolve", "{\"status\":\"dismissed\",\"resolved_by\":\"\\r\"}"),
                ("/admin/sensitive-images", "{}"),
                ("/admin/sensitive-images", "{\"url\":\"ftp://x\"}"),
                ("/admin/sensitive-images/remove", "{}"),
                ("/admin/sensitive-images/remove", "{\"id\":\"x\"}"),
                ("/admin/reports/abc/resolve", "{\"status\":\"resolved\"}"),
                ("/admin/reports/1/resolve", "{\"status\":\"closed\"}"),
            ]
            for (path, body) in cases {
                let (s, e) = try await h.post(path, body)
                #expect((400..<500).contains(s) && s != 404 || path.contains("/reports/1/"), "\(path) \(body.prefix(60)) → \(s) \(e)")
                #expect(e["error"] != nil && (e["message"] as? String)?.isEmpty == false, "\(path) \(body.prefix(60))")
            }
            for body in ["{}", "{\"reasonType\":\"x\",\"subject\":{\"did\":\"did:plc:a\"}}",
                         "{\"reasonType\":\"com.atproto.moderation.defs#reasonSpam\",\"subject\":{\"uri\":\"\(Self.uri)\"}}",
                         "{\"reasonType\":\"com.atproto.moderation.defs#reasonSpam\",\"subject\":{\"did\":\"nope\"}}"] {
                let (s, _) = try await h.post("/xrpc/com.atproto.moderation.createReport", body, headers: [.contentType: "application/json"])
                #expect(s == 400, "\(body)")
            }
            for q in ["/admin/flags?filter=weird", "/admin/reports?status=closed", "/admin/reports?limit=0", "/admin/reports?offset=-1"] {
                let (s, _) = try await h.get(q, admin: true)
                #expect(s == 400, "\(q)")
            }
            #expect(h.service.log.head == head, "nothing was appended")
        }
    }
}

struct MachineRouteTests {
    @Test func theBackendsQueriesAnswerAsTheOriginal() async throws {
        try await Harness.run { h in
            let a = "at://did:plc:m/fm.plyr.track/a", b = "at://did:plc:m/fm.plyr.track/b", c = "at://did:plc:m/fm.plyr.track/c"
            try await h.emit(a)
            try await h.emit(b)
            try await h.emit(b, val: "explicit")
            try await h.emit(c)
            try await h.emit(c, neg: true)
            let (_, active) = try await h.post("/internal/active-labels", "{\"uris\":[\"\(a)\",\"\(b)\",\"\(c)\"]}")
            #expect(active["active_uris"] as? [String] == [a, b])
            let (_, labels) = try await h.post("/admin/labels", "{\"uris\":[\"\(b)\",\"\(c)\"]}")
            #expect((labels["labels"] as? [String: [String]]) == [b: ["copyright-violation", "explicit"]])
            let (_, byValue) = try await h.post("/internal/labels-by-value", "{\"values\":[\"explicit\"]}")
            #expect((byValue["labels"] as? [String: [String]]) == [b: ["explicit"]])
            // Every URI holding any of the values, with the ones it holds; negated and expired
            // labels are not held.
            let d = "at://did:plc:m/fm.plyr.track/d", e = "at://did:plc:m/fm.plyr.track/e"
            _ = try await h.emit(d, val: "spam")
            let (se, _) = try await h.post("/emit-label", "{\"uri\":\"\(e)\",\"val\":\"spam\",\"exp\":\"2001-01-01T00:00:00.000Z\"}")
            #expect(se == 200, "an expired label is still a label")
            let (s2, two) = try await h.post("/internal/labels-by-value", "{\"values\":[\"copyright-violation\",\"explicit\",\"spam\"]}")
            #expect(s2 == 200)
            #expect((two["labels"] as? [String: [String]]) == [a: ["copyright-violation"], b: ["copyright-violation", "explicit"], d: ["spam"]], "\(two)")
            let (_, none) = try await h.post("/internal/labels-by-value", "{\"values\":[]}")
            #expect((none["labels"] as? [String: [String]]) == [:])
            let (_, negated) = try await h.post("/internal/negated-labels", "{\"uris\":[\"\(a)\",\"\(c)\"]}")
            #expect(negated["negated_uris"] as? [String] == [c])
            let (s, _) = try await h.post("/internal/labels", "{\"uris\":5}")
            #expect(s == 400)
        }
    }
}
