import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import LabelerCore
import LabelerServer
import LabelerTestSupport
import NIOCore
import Testing

/// Randomized bad requests to every route of the router (enumerated, so a new route is covered
/// the day it is added): bad query parameters, bad JSON, wrong types, huge numbers, deep nesting,
/// invalid UTF-8, oversized bodies — with and without the admin key. Every answer must be a 4xx
/// (or a 2xx read for a GET that happens to be valid), never a 5xx (but the XRPC spec's 501 for an
/// unknown method); an error must be XRPC JSON
/// `{"error","message"}`; a refused request must not append anything; the server stays up.
struct HostileInputTests {
    static let perRoute = ProcessInfo.processInfo.environment["HOSTILE_REQUESTS_PER_ROUTE"].flatMap(Int.init) ?? 120

    @Test func randomizedRequestsToEveryRouteGet4xxAndChangeNothing() async throws {
        // An AuDD key pointing nowhere, so /scan validates its input instead of answering 503.
        try await Harness.run(environment: ["AUDD_API_KEY": "k", "AUDD_API_URL": "http://127.0.0.1:9/"]) { h in
            // Some state for the routes to refuse to touch: a flag with context, a batch.
            let uri = "at://did:plc:abcdefghijklmnopqrstuvwx/fm.plyr.track/3kfuzz"
            try await h.emit(uri)
            _ = try await h.post("/admin/context", "{\"uri\":\"\(uri)\",\"track_title\":\"t\",\"artist_handle\":\"a.test\"}")
            let (bs, batch) = try await h.post("/admin/batches", "{}")
            #expect(bs == 200)
            let batchID = batch["id"] as? String ?? "x"

            let scratch = TempDir()
            let config = try ServerConfig.resolve(dataDir: scratch.path, host: nil, port: nil, environment: [:])
            let routes = buildRouter(service: h.service, config: config).routes.map { ($0.method, "\($0.path)") }
            var rng = SplitMix64(seed: 42)
            var tried = 0
            var statuses: [Int: Int] = [:]
            var acceptedWrites: [String] = []
            for (method, path) in routes {
                for i in 0..<Self.perRoute {
                    let concrete = path
                        .replacingOccurrences(of: "{id}", with: i % 3 == 0 ? batchID : Self.randomToken(&rng))
                        .replacingOccurrences(of: "{method}", with: Self.randomToken(&rng))
                    let target = concrete + Self.randomQuery(&rng)
                    let body = method == .post ? Self.randomBody(&rng) : []
                    var headers: HTTPFields = [.contentType: rng.next() % 5 == 0 ? "text/plain" : "application/json"]
                    if rng.next() % 4 != 0 { headers[.init("X-Moderation-Key")!] = h.token }
                    let headBefore = h.service.log.head
                    let (status, json, raw): (Int, [String: Any], String)
                    do {
                        // A client that opens a new connection when the server closed the last one
                        // (it does after a refused oversized body).
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(h.port)\(target)")
                        request.method = .init(rawValue: method.rawValue)
                        for f in headers { request.headers.add(name: f.name.rawName, value: f.value) }
                        if method == .post { request.body = .bytes(ByteBuffer(bytes: body)) }
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                        let buffer = try await response.body.collect(upTo: 1 << 22)
                        (status, json, raw) = (Int(response.status.code), Harness.json(buffer), String(buffer: buffer))
                    } catch {
                        Issue.record("\(method) \(target): \(error)")
                        continue
                    }
                    tried += 1
                    statuses[status, default: 0] += 1
                    let shown = "\(method) \(target) body \(String(decoding: body.prefix(120), as: UTF8.self))"
                    // The XRPC spec's one 5xx for a client's mistake: an unknown method is 501 MethodNotImplemented.
                    let unknownMethod = path == "/xrpc/{method}" && status == 501 && json["error"] as? String == "MethodNotImplemented"
                    #expect(status < 500 || unknownMethod, "\(shown) → \(status) \(raw.prefix(200))")
                    if status >= 400 {
                        // (A HEAD answer has no body, by definition.)
                        #expect(method == .head || (json["error"] is String && json["message"] is String), "\(shown) → \(status) not XRPC JSON: \(raw.prefix(200))")
                        #expect(h.service.log.head == headBefore, "\(shown) → \(status) but appended")
                    } else if method == .post && h.service.log.head != headBefore {
                        acceptedWrites.append(shown)  // a random body that happened to be a valid command
                    }
                }
            }
            let (health, _) = try await h.get("/health")
            #expect(health == 200)
            print("hostile input: \(tried) requests over \(routes.count) routes; statuses \(statuses.sorted { $0.key < $1.key }); "
                + "valid writes among them: \(acceptedWrites.count) \(acceptedWrites.prefix(3))")
            #expect(acceptedWrites.count < tried / 100, "random input is rarely a valid write")
        }
    }

    static func randomToken(_ rng: inout SplitMix64) -> String {
        let pool = ["1", "0", "-1", "99999999999999999999999", "abc", "%FF%FE", "%00", "..%2F..%2Fetc", "%F0%9F%98%80", String(repeating: "a", count: 300)]
        return pool[Int(rng.next() % UInt64(pool.count))]
    }

    static func randomQuery(_ rng: inout SplitMix64) -> String {
        let keys = ["cursor", "limit", "uriPatterns", "sources", "filter", "uri", "id", "at", "status", "before"]
        let values = [
            "", "0", "-1", "1e400", "18446744073709551616", "9007199254740993", "NaN", "%FF%FE%FD", "%00", "*", "**",
            "at://*", "did:plc:x", String(repeating: "9", count: 400), "%22%3Cscript%3E", "true", "[]", "{}",
            String(repeating: "at://did:plc:abc/", count: 40),
        ]
        let n = Int(rng.next() % 5)
        guard n > 0 else { return "" }
        return "?" + (0..<n).map { _ in
            "\(keys[Int(rng.next() % UInt64(keys.count))])=\(values[Int(rng.next() % UInt64(values.count))])"
        }.joined(separator: "&")
    }

    static let fieldNames = [
        "uri", "val", "cid", "neg", "exp", "labels", "reason", "notes", "uris", "created_by", "decisions", "audio_url",
        "track_id", "track_title", "artist_handle", "artist_did", "highest_score", "matches", "url", "id", "subject",
        "reasonType", "decision", "status", "image_id", "duration_s", "context", "$type", "did",
    ]

    /// JSON-ish bodies: random objects of the routes' field names with values of the wrong type or
    /// shape, plus malformed documents, deep nesting, huge numbers, invalid UTF-8 and a body over
    /// the 1 MiB limit.
    static func randomBody(_ rng: inout SplitMix64) -> [UInt8] {
        switch rng.next() % 12 {
        case 0: return []
        case 1: return Array("{\"uri\": \"at://x".utf8)  // truncated
        case 2: return [0x7b, 0x22, 0x75, 0x72, 0x69, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0x80, 0x22, 0x7d]  // invalid UTF-8
        case 3: return Array((String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000)).utf8)
        case 4: return Array(("{\"labels\":[" + String(repeating: "{\"uri\":1},", count: 20) + "1]}").utf8)
        case 5: return [UInt8](repeating: 0x20, count: (1 << 20) + 10) + Array("{}".utf8)  // over the body limit
        case 6: return Array("[1,2,3]".utf8)
        default:
            var fields: [String] = []
            for _ in 0..<(1 + Int(rng.next() % 5)) {
                let name = fieldNames[Int(rng.next() % UInt64(fieldNames.count))]
                fields.append("\"\(name)\":\(randomJSONValue(&rng, depth: 0))")
            }
            return Array("{\(fields.joined(separator: ","))}".utf8)
        }
    }

    static func randomJSONValue(_ rng: inout SplitMix64, depth: Int) -> String {
        let scalars = [
            "1e400", "-1", "18446744073709551616", "3.5", "true", "null", "\"\"", "\"\\u0000\"", "\"\\ud800\"",
            "\"at://did:plc:abcdefghijklmnopqrstuvwx/fm.plyr.track/3k\"", "\"copyright-violation\"", "\"<script>alert(1)</script>\"",
            "\"\(String(repeating: "x", count: 5000))\"", "\"not a uri\"", "\"http://127.0.0.1:9/a.mp3\"", "\"confirm\"",
            "\"original_artist\"", "\"2026-13-45T99:99:99Z\"", "\"did:plc:\"", "0",
        ]
        switch rng.next() % (depth > 2 ? 1 : 4) {
        case 0: return scalars[Int(rng.next() % UInt64(scalars.count))]
        case 1: return "[" + (0..<Int(rng.next() % 4)).map { _ in randomJSONValue(&rng, depth: depth + 1) }.joined(separator: ",") + "]"
        case 2:
            let name = fieldNames[Int(rng.next() % UInt64(fieldNames.count))]
            return "{\"\(name)\":\(randomJSONValue(&rng, depth: depth + 1))}"
        default: return scalars[Int(rng.next() % UInt64(scalars.count))]
        }
    }
}

struct StrictBodyTests {
    /// A typo in a write must not fall back to a default (a copyright-violation label, a batch of
    /// every pending flag): unknown keys are refused, by name.
    @Test func unknownFieldsInWritesAreRefusedByName() async throws {
        try await Harness.run { h in
            let uri = "at://did:plc:abcdefghijklmnopqrstuvwx/fm.plyr.track/3ktypo"
            var (status, body) = try await h.post("/emit-label", "{\"uri\":\"\(uri)\",\"vall\":\"spam\"}")
            #expect(status == 400)
            #expect((body["message"] as? String)?.hasPrefix("vall: unknown field") == true, "\(body)")
            (status, body) = try await h.post("/emit-labels", "{\"labels\":[{\"uri\":\"\(uri)\"},{\"uri\":\"\(uri)\",\"negate\":true}]}")
            #expect(status == 400)
            #expect((body["message"] as? String)?.hasPrefix("labels[1].negate: unknown field") == true, "\(body)")
            try await h.emit(uri)
            (status, body) = try await h.post("/admin/batches", "{\"uri\":[\"\(uri)\"]}")
            #expect(status == 400, "a typo of uris must not batch every pending flag: \(body)")
            #expect(h.service.log.head == 2)
        }
    }
}
