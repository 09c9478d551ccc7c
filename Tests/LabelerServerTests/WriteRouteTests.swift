import Foundation
import HTTPTypes
import LabelerCore
import LabelerServer
import Testing

struct WriteRouteTests {
    @Test func writesNeedTheAdminKey() async throws {
        try await Harness.run { h in
            let body = "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"val\":\"spam\"}"
            let bulk = "{\"labels\":[\(body)]}"
            for path in ["/emit-label", "/emit-labels"] {
                for headers: HTTPFields in [
                    [.contentType: "application/json"],
                    [.contentType: "application/json", .init("X-Moderation-Key")!: "wrong"],
                    [.contentType: "application/json", .init("X-Moderation-Key")!: h.token + "x"],
                    [.contentType: "application/json", .init("X-Moderation-Key")!: String(h.token.dropLast())],
                ] {
                    let (s, b) = try await h.post(path, path == "/emit-label" ? body : bulk, headers: headers)
                    #expect(s == 401)
                    #expect(b["error"] as? String == "AuthenticationRequired")
                }
            }
            #expect(h.service.log.head == 1, "nothing appended")
        }
    }

    @Test func oversizeBodiesAre413() async throws {
        try await Harness.run { h in
            let big = "{\"uri\":\"" + String(repeating: "a", count: 1_100_000) + "\"}"
            let (s, b) = try await h.post("/emit-label", big)
            #expect(s == 413)
            #expect(b["error"] as? String == "PayloadTooLarge")
            #expect(h.service.log.head == 1)
        }
    }

    @Test func malformedInputIsRefusedAndChangesNothing() async throws {
        try await Harness.run { h in
            let cases: [(String, String)] = [
                ("/emit-label", ""),
                ("/emit-label", "not json"),
                ("/emit-label", "[]"),
                ("/emit-label", "{}"),
                ("/emit-label", "{\"uri\":null}"),
                ("/emit-label", "{\"uri\":5}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"val\":7}"),
                ("/emit-label", "{\"uri\":\"https://example.com/x\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1 2\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/ünï\"}"),
                ("/emit-label", "{\"uri\":\"did:nope\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"val\":\"\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"val\":\"" + String(repeating: "é", count: 65) + "\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"val\":\"has space\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"cid\":\"x\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"cid\":5}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"neg\":\"yes\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"exp\":\"2025-13-01T00:00:00Z\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"exp\":\"2025-01-01 00:00:00Z\"}"),
                ("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/1\",\"exp\":\"2025-01-01T00:00:00-00:00\"}"),
                ("/emit-labels", "{}"),
                ("/emit-labels", "{\"labels\":[]}"),
                ("/emit-labels", "{\"labels\":{}}"),
                ("/emit-labels", "{\"labels\":[{\"uri\":\"at://did:plc:a/fm.plyr.track/1\"},{\"uri\":\"bad\"}]}"),
                ("/emit-labels", "{\"labels\":[" + Array(repeating: "{\"uri\":\"did:plc:abc\"}", count: 1001).joined(separator: ",") + "]}"),
            ]
            for (path, body) in cases {
                let (s, b) = try await h.post(path, body)
                #expect(s == 400, "\(path) \(body.prefix(80)) → \(s) \(b)")
                #expect(b["error"] as? String == "InvalidRequest" && (b["message"] as? String)?.isEmpty == false, "\(body.prefix(80))")
            }
            #expect(h.service.log.head == 1, "no bad request appended anything")
            // `neg:false` in a request (the original's callers send it) means a positive label,
            // which is signed without any `neg` key.
            let (plain, pb) = try await h.post("/emit-label", "{\"uri\":\"at://did:plc:a/fm.plyr.track/9\",\"neg\":false}")
            #expect(plain == 200 && (pb["label"] as? [String: Any])?["neg"] == nil)
            let (ok, body) = try await h.post("/emit-labels", "{\"labels\":[{\"uri\":\"at://did:plc:a/fm.plyr.track/1\"},{\"uri\":\"did:plc:abc\",\"val\":\"!hide\",\"cid\":\"bafyreiham727jj3i4dqipf4vhtbhq4vgdxbpdqxj6vlppeatvnlekheg6u\",\"exp\":\"2030-01-01T00:00:00.000Z\"}]}")
            #expect(ok == 200)
            #expect((body["labels"] as? [Any])?.count == 2)
            #expect(h.service.log.head == 4)
        }
    }

    @Test func publicRoutesAnswer() async throws {
        try await Harness.run { h in
            let (s, health) = try await h.get("/health")
            #expect(s == 200 && health["did"] as? String == h.service.did && (health["head"] as? NSNumber)?.intValue == 1)
            let landing = try await h.client.execute(uri: "/", method: .get) { String(buffer: $0.body) }
            #expect(landing.contains(h.service.did))
            let metrics = try await h.client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("labeler_head_seq 1") && metrics.contains("labeler_commits_total"))
            let (n, e) = try await h.get("/.well-known/did.json")
            #expect(n == 404 && e["error"] as? String == "NotFound")
            let (m, me) = try await h.get("/xrpc/com.example.nothing")
            #expect(m == 501 && me["error"] as? String == "MethodNotImplemented")
        }
    }

    @Test func didWebDocumentNamesTheLabelKeyAndService() async throws {
        try await Harness.run(environment: ["LABELER_DID": "did:web:labeler.example.com", "LABELER_PUBLIC_URL": "https://labeler.example.com"]) { h in
            let (s, doc) = try await h.get("/.well-known/did.json")
            #expect(s == 200 && doc["id"] as? String == "did:web:labeler.example.com")
            let vm = (doc["verificationMethod"] as! [[String: Any]])[0]
            #expect(vm["id"] as? String == "did:web:labeler.example.com#atproto_label" && vm["type"] as? String == "Multikey")
            #expect(vm["publicKeyMultibase"] as? String == h.service.key.publicKey.multikey)
            let svc = (doc["service"] as! [[String: Any]])[0]
            #expect(svc["id"] as? String == "#atproto_labeler" && svc["serviceEndpoint"] as? String == "https://labeler.example.com")
        }
    }
}
