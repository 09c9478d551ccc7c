import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LabelerCore
import LabelerServer
import LabelerTestSupport
import Replay
import Testing

/// What third-party clients meet at the edges: CORS, wrong methods, subjects too long to
/// store, and identities that could never verify.
struct PublicAPITests {
    /// Browsers on other origins may call the public API (errors included) and preflight it;
    /// admin routes get no CORS headers. A GET-only method called otherwise is a 405.
    @Test func thePublicAPIAnswersBrowsersAndWrongMethods() async throws {
        try await Harness.run { h in
            let origin = HTTPField.Name.accessControlAllowOrigin
            for uri in ["/xrpc/com.atproto.label.queryLabels?uriPatterns=*", "/xrpc/com.atproto.label.queryLabels?limit=0", "/xrpc/_health"] {
                let got = try await h.client.execute(uri: uri, method: .get) { r in r.headers[origin] }
                #expect(got == "*", "\(uri)")
            }
            let preflight = try await h.client.execute(uri: "/xrpc/com.atproto.moderation.createReport", method: .options) { r in
                (r.status.code, r.headers[.accessControlAllowMethods] ?? "", r.headers[.accessControlAllowHeaders] ?? "")
            }
            #expect(preflight.0 == 204 && preflight.1.contains("POST") && preflight.2.contains("Content-Type"))
            let admin = try await h.client.execute(uri: "/admin/flags", method: .get, headers: h.auth) { r in (r.status.code, r.headers[origin]) }
            #expect(admin.0 == 200 && admin.1 == nil)
            for method in [HTTPRequest.Method.post, .put, .delete] {
                for path in ["/xrpc/com.atproto.label.queryLabels", "/xrpc/com.atproto.label.subscribeLabels"] {
                    let (status, allow, body) = try await h.client.execute(uri: path, method: method) { r in
                        (r.status.code, r.headers[.allow], Harness.json(r.body))
                    }
                    #expect(status == 405 && allow == "GET" && body["error"] as? String == "MethodNotAllowed", "\(method) \(path)")
                }
            }
            // HEAD is GET without the body.
            let head = try await h.client.execute(uri: "/xrpc/com.atproto.label.queryLabels?uriPatterns=*", method: .head) { r in
                (r.status.code, r.body.readableBytes)
            }
            #expect(head.0 == 200 && head.1 == 0)
            // subscribeLabels' cursor is one seq: given twice is a 400 (queryLabels does the same).
            let (status, body) = try await h.get("/xrpc/com.atproto.label.subscribeLabels?cursor=0&cursor=3")
            #expect(status == 400 && body["error"] as? String == "InvalidRequest")
        }
    }

    /// The syntax allows AT-URIs of 8 KB (a signing vector has one of 966 bytes) while LMDB keys
    /// hold 511 bytes: such subjects are keyed by a bounded form and are found like any other —
    /// by exact URI and prefix, superseded by a negation, with context, reports and history.
    @Test func subjectsLongerThanAKeyAreStoredAndFound() async throws {
        try await Harness.run { h in
            let long = "at://did:plc:asdf123/com.atproto.feed.post/" + String(repeating: "o", count: 500)  // 543 bytes
            let twin = String(long.dropLast()) + "p"  // the same first 400 bytes
            #expect(Syntax.isValidATURI(long) && Syntax.isValidATURI(twin))
            let cid = "bafy" + String(repeating: "a", count: 200)
            for (uri, c) in [(long, nil), (twin, nil), (long, cid)] as [(String, String?)] {
                let body = c.map { #"{"uri":"\#(uri)","val":"spam","cid":"\#($0)"}"# } ?? #"{"uri":"\#(uri)","val":"spam"}"#
                let (status, answer) = try await h.post("/emit-label", body)
                #expect(status == 200, "\(answer)")
            }
            let (s0, _) = try await h.post("/emit-label", #"{"uri":"\#(long)","val":"spam","neg":true}"#)
            #expect(s0 == 200)
            let exact = try await h.queryAll([long], limit: 10)
            #expect(exact.count == 2, "the negation replaced the first label; the cid one is its own")
            #expect(exact.allSatisfy { $0["uri"] as? String == long })
            #expect(try await h.queryAll([twin], limit: 10).count == 1)
            #expect(try await h.queryAll(["at://did:plc:asdf123/*"], limit: 2).count == 3)
            #expect(try await h.queryAll(["at://did:plc:asdf123/com.atproto.feed.post/ooo*"], limit: 2).count == 3)
            // Prefixes reaching past what a bounded key keeps are checked against the real URIs.
            let deep = String(long.prefix(350))
            #expect(try await h.queryAll([deep + "*"], limit: 2).count == 3)
            #expect(try await h.queryAll([String(twin.dropLast()) + "p*"], limit: 2).count == 1)
            #expect(try await h.queryAll([String(long.prefix(328)) + "#sha256*"], limit: 2).isEmpty)
            let (s1, b1) = try await h.post("/admin/context", #"{"uri":"\#(long)","track_title":"t"}"#)
            #expect(s1 == 200, "\(b1)")
            let longDID = "did:plc:" + String(repeating: "a", count: 600)
            let report = #"{"reasonType":"com.atproto.moderation.defs#reasonSpam","subject":{"$type":"com.atproto.admin.defs#repoRef","did":"\#(longDID)"}}"#
            let (s2, b2) = try await h.post("/xrpc/com.atproto.moderation.createReport", report, headers: [.contentType: "application/json"])
            #expect(s2 == 200, "\(b2)")
            let history = try History.entries(store: h.service.store, subject: long)
            #expect(history.count == 4, "three labels and the context")
            #expect(try History.entries(store: h.service.store, subject: longDID).count == 1)
            #expect(try History.entries(store: h.service.store, subject: twin).count == 1)
        }
    }

    @Test func identitiesThatCouldNeverVerifyStopStartUp() throws {
        let dir = TempDir()
        let key = SigningKey.generate()
        let other = SigningKey.generate().publicKey.didKey
        #expect {
            try ServerConfig.resolve(dataDir: dir.path, host: nil, port: nil, environment: ["LABELER_SIGNING_KEY": key.hex, "LABELER_DID": other])
        } throws: { "\($0)".contains("another key") }
        #expect(throws: ServerConfig.Error.self) {
            try ServerConfig.resolve(dataDir: dir.path, host: nil, port: nil, environment: ["LABELER_SIGNING_KEY": key.hex, "LABELER_DID": "did:key:zzzz"])
        }
        _ = try ServerConfig.resolve(
            dataDir: dir.path, host: nil, port: nil, environment: ["LABELER_SIGNING_KEY": key.hex, "LABELER_DID": key.publicKey.didKey])
        for url in ["https://example.com?x=1", "https://user@example.com", "https://example.com/#x"] {
            #expect(throws: ServerConfig.Error.self, "\(url)") {
                try ServerConfig.resolve(dataDir: dir.path, host: nil, port: nil, environment: ["LABELER_PUBLIC_URL": url])
            }
        }
        // did:web documents: the host in any case, the default port written or not.
        let pub = key.publicKey
        #expect(Identity.didDocument(did: "did:web:example.com", key: pub, publicURL: "https://EXAMPLE.com") != nil)
        #expect(Identity.didDocument(did: "did:web:example.com", key: pub, publicURL: "https://example.com:443") != nil)
        #expect(Identity.didDocument(did: "did:web:example.com%3A8443", key: pub, publicURL: "https://example.com:8443") != nil)
        #expect(Identity.didDocument(did: "did:web:example.com", key: pub, publicURL: "https://other.com") == nil)
        #expect(Identity.didWebWarning(did: "did:web:example.com", publicURL: "https://other.com") != nil)
        #expect(Identity.didWebWarning(did: "did:web:example.com", publicURL: "https://example.com") == nil)
        #expect(Identity.didWebWarning(did: "did:web:example.com:u:alice", publicURL: "https://example.com") != nil)
    }

    /// Values outside the recommended syntax are signed (valid) with a warning in the answer.
    @Test func unusualLabelValuesAreSignedWithAWarning() async throws {
        try await Harness.run { h in
            for (val, warned) in [("copyright-violation", false), ("!hide", false), ("Spam", true), ("tag1", true), ("-x", true)] {
                let (status, body) = try await h.post("/emit-label", #"{"uri":"did:plc:warn","val":"\#(val)"}"#)
                #expect(status == 200, "\(val) \(body)")
                #expect((body["warnings"] != nil) == warned, "\(val) \(body)")
            }
            let (status, body) = try await h.post("/emit-labels", #"{"labels":[{"uri":"did:plc:warn","val":"ok"},{"uri":"did:plc:warn","val":"NotOk"}]}"#)
            #expect(status == 200)
            #expect((body["warnings"] as? [String])?.count == 1 && (body["warnings"] as? [String])?[0].hasPrefix("labels[1].val") == true)
        }
    }

    /// A key given twice in one object is refused (parsers disagree on which one wins), escaped
    /// spellings included; the same key in two objects, or inside a string, is fine.
    @Test func duplicateKeysAreRefused() async throws {
        try await Harness.run { h in
            let head = h.service.log.head
            for body in [
                #"{"uri":"did:plc:dup","val":"x","val":"y"}"#, #"{"uri":"did:plc:dup","v\u0061l":"x","val":"y"}"#,
                #"{"labels":[{"uri":"did:plc:dup","val":"x","uri":"did:plc:other"}]}"#,
            ] {
                let (status, answer) = try await h.post(body.contains("labels") ? "/emit-labels" : "/emit-label", body)
                #expect(status == 400 && (answer["message"] as? String)?.contains("given twice") == true, "\(body) \(answer)")
            }
            #expect(h.service.log.head == head)
            for body in [
                #"{"labels":[{"uri":"did:plc:dup","val":"x"},{"uri":"did:plc:dup","val":"y"}]}"#,
                #"{"labels":[{"uri":"did:plc:dup","val":"a-\\","cid":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}]}"#,
            ] {
                let (status, answer) = try await h.post("/emit-labels", body)
                #expect(status == 200 || (answer["message"] as? String)?.contains("given twice") != true, "\(body) \(answer)")
            }
            let (status, _) = try await h.post("/emit-labels", #"{"labels":[{"uri":"did:plc:dup","val":"x"},{"uri":"did:plc:dup","val":"y"}]}"#)
            #expect(status == 200)
        }
    }

    /// A leap second only ends June or December (the atproto interop datetimes).
    @Test func leapSecondsOnlyWhereTheyCanBe() {
        #expect(Datetime.parse("1985-04-12T23:20:60Z") == nil)
        #expect(Datetime.parse("2031-04-12T23:59:60Z") == nil)
        #expect(Datetime.parse("2016-12-31T23:59:60Z") != nil)
        #expect(Datetime.parse("2015-06-30T23:59:60Z") != nil)
        #expect(Datetime.parse("2016-12-31T18:59:60-05:00") != nil)
        #expect(Datetime.parse("2016-12-31T23:59:60+01:00") == nil)
    }
}
