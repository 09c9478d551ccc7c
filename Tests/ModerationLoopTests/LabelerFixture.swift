import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LabelerServer
import LabelerTestSupport
import Logging
import NIOCore

/// A real labeler on a temporary data directory, served on a local port, seeded and inspected
/// through its HTTP API like any other client would.
struct LabelerFixture: Sendable {
    let client: any TestClientProtocol
    let port: Int
    let token: String
    var url: String { "http://127.0.0.1:\(port)" }

    static func run(_ body: @Sendable (LabelerFixture) async throws -> Void) async throws {
        let dir = TempDir()
        let config = try ServerConfig.resolve(dataDir: dir.path, host: "127.0.0.1", port: 0, environment: [:])
        var logger = Logger(label: "labeler")
        logger.logLevel = .error
        let service = try await LabelerService(config: config, logger: logger)
        let app = buildApplication(service: service, config: config, logger: logger)
        try await app.test(.live) { client in
            _ = try await client.execute(uri: "/health", method: .get)
            try await body(LabelerFixture(client: client, port: client.port!, token: config.adminToken))
        }
        service.close()
        _ = dir
    }

    var auth: HTTPFields { [.init("X-Moderation-Key")!: token, .contentType: "application/json"] }

    func get(_ uri: String) async throws -> [String: Any] {
        try await client.execute(uri: uri, method: .get, headers: auth) { r in
            guard r.status == .ok else { throw FixtureError("GET \(uri): \(r.status) \(String(buffer: r.body))") }
            return try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as! [String: Any]
        }
    }

    @discardableResult
    func post(_ uri: String, _ body: [String: Any]) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await client.execute(uri: uri, method: .post, headers: auth, body: ByteBuffer(bytes: data)) { r in
            guard r.status == .ok else { throw FixtureError("POST \(uri): \(r.status) \(String(buffer: r.body))") }
            return try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as! [String: Any]
        }
    }

    /// A copyright flag as a scan leaves it: the label, then its context.
    func flag(
        _ uri: String, trackId: Int64?, title: String, handle: String = "someone.bsky.social", did: String = "did:plc:someone",
        matches: [(artist: String, title: String)] = [("Daft Punk", "One More Time")]
    ) async throws {
        try await post("/emit-label", ["uri": uri, "val": "copyright-violation"])
        var context: [String: Any] = [
            "uri": uri, "track_title": title, "artist_handle": handle, "artist_did": did, "highest_score": 0.9,
            "matches": matches.map { ["artist": $0.artist, "title": $0.title, "score": 0.9] },
        ]
        if let trackId { context["track_id"] = trackId }
        try await post("/admin/context", context)
    }

    var head: UInt64 { get async throws { (try await get("/health")["head"] as! NSNumber).uint64Value } }

    func flags(_ filter: String) async throws -> [String: [String: Any]] {
        let list = try await get("/admin/flags?filter=\(filter)")["tracks"] as! [[String: Any]]
        return Dictionary(uniqueKeysWithValues: list.map { ($0["uri"] as! String, $0) })
    }

    /// `(reason, notes)` of a resolved flag.
    func resolution(_ uri: String) async throws -> (String?, String?)? {
        guard let r = try await flags("resolved")[uri]?["resolution"] as? [String: Any] else { return nil }
        return (r["reason"] as? String, r["notes"] as? String)
    }

    func batchURIs(_ id: String) async throws -> [String] {
        (try await get("/admin/review/\(id)/data")["flags"] as! [[String: Any]]).map { $0["uri"] as! String }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension LabelerFixture {
    /// A `GET` whatever its status: `(status, body)`.
    func raw(_ uri: String) async throws -> (Int, String) {
        try await client.execute(uri: uri, method: .get, headers: auth) { r in (Int(r.status.code), String(buffer: r.body)) }
    }
}
