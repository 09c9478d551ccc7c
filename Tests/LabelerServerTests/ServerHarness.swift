import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LabelerCore
import LabelerServer
import LabelerTestSupport
import Logging
import NIOCore

/// The real application on a temporary data directory, driven over HTTP and WebSocket.
struct Harness: Sendable {
    let client: any TestClientProtocol
    let port: Int
    let token: String
    let service: LabelerService

    static func run(
        dir: TempDir = TempDir(), environment: [String: String] = [:], function: String = #function,
        _ body: @Sendable (Harness) async throws -> Void
    ) async throws {
        let config = try ServerConfig.resolve(dataDir: dir.path, host: "127.0.0.1", port: 0, environment: environment)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let service = try await LabelerService(config: config, logger: logger)
        let app = buildApplication(service: service, config: config, logger: logger)
        try await app.test(.live) { client in
            // Let the test client's connection finish opening: shutting it down mid-connect hangs.
            _ = try await client.execute(uri: "/health", method: .get)
            try await body(Harness(client: client, port: client.port!, token: config.adminToken, service: service))
        }
        service.close()
        _ = dir
    }

    var auth: HTTPFields { [.init("X-Moderation-Key")!: token, .contentType: "application/json"] }

    func get(_ uri: String, admin: Bool = false) async throws -> (Int, [String: Any]) {
        try await client.execute(uri: uri, method: .get, headers: admin ? auth : [:]) { r in (Int(r.status.code), Self.json(r.body)) }
    }

    func post(_ uri: String, _ body: String, headers: HTTPFields? = nil) async throws -> (Int, [String: Any]) {
        try await client.execute(uri: uri, method: .post, headers: headers ?? auth, body: ByteBuffer(string: body)) { r in
            (Int(r.status.code), Self.json(r.body))
        }
    }

    static func json(_ b: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(b.readableBytesView)) as? [String: Any]) ?? [:]
    }

    @discardableResult
    func emit(_ uri: String, val: String = "copyright-violation", neg: Bool = false) async throws -> UInt64 {
        let (status, body) = try await post("/emit-label", "{\"uri\":\"\(uri)\",\"val\":\"\(val)\"\(neg ? ",\"neg\":true" : "")}")
        guard status == 200, let seq = (body["seq"] as? NSNumber)?.uint64Value else {
            throw HarnessError("emit failed: \(status) \(body)")
        }
        return seq
    }

    /// Waits until the server counts at least `n` open subscribeLabels connections (its metrics),
    /// so a test emits only once a live-only subscriber is really listening.
    func waitForSubscribers(_ n: Int, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = try await client.execute(uri: "/metrics", method: .get) { r in String(buffer: r.body) }
            let line = text.split(separator: "\n").first { $0.hasPrefix("labeler_subscribers ") }
            if let v = line?.split(separator: " ").last.flatMap({ Int($0) }), v >= n { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessError("fewer than \(n) subscribers after \(timeout)")
    }

    /// Pages through queryLabels until there is no cursor; returns (seq, label JSON) in order.
    func queryAll(_ patterns: [String], limit: Int) async throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        var cursor: String? = nil
        let q = patterns.map { "uriPatterns=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&")
        repeat {
            let (status, body) = try await get("/xrpc/com.atproto.label.queryLabels?\(q)&limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? ""))
            guard status == 200 else { throw HarnessError("query failed: \(status) \(body)") }
            out += body["labels"] as! [[String: Any]]
            cursor = body["cursor"] as? String
        } while cursor != nil
        return out
    }

    /// Subscribes and collects frames until `until` says stop, the server closes, or the timeout passes
    /// (an error). Runs on a thread of its own with a blocking socket (`RawWebSocket`).
    func subscribe(
        cursor: UInt64?, slow: Duration? = nil, timeout: Duration = .seconds(20),
        until: @escaping @Sendable ([Frame]) -> Bool
    ) async throws -> (frames: [Frame], close: SubscriptionClose?) {
        try await subscribeRaw(query: cursor.map { "cursor=\($0)" }, slow: slow, timeout: timeout, until: until)
    }

    func subscribeRaw(
        query: String?, slow: Duration? = nil, timeout: Duration = .seconds(20),
        until: @escaping @Sendable ([Frame]) -> Bool = { _ in false }
    ) async throws -> (frames: [Frame], close: SubscriptionClose?) {
        let path = "/xrpc/com.atproto.label.subscribeLabels" + (query.map { "?\($0)" } ?? "")
        let port = self.port
        return try await withCheckedThrowingContinuation { k in
            Thread.detachNewThread {
                k.resume(with: Result {
                    let deadline = ContinuousClock.now + timeout
                    let socket = try RawWebSocket(port: port, path: path, readTimeout: timeout)
                    var frames: [Frame] = []
                    while true {
                        if ContinuousClock.now > deadline { throw HarnessError("subscription timed out") }
                        let message: RawWebSocket.Message?
                        do { message = try socket.next() } catch { throw HarnessError("subscription timed out (\(error))") }
                        switch message {
                        case nil: return (frames, nil)
                        case .close(let close): return (frames, close)
                        case .text(let t): throw HarnessError("unexpected text message: \(t)")
                        case .binary(let bytes):
                            frames.append(try Frame.parse(bytes))
                            if until(frames) {
                                try socket.sendClose(code: 1000)
                                while case .binary = try? socket.next() {}  // up to the server's close or EOF
                                return (frames, nil)
                            }
                            if let slow { Thread.sleep(forTimeInterval: Double(slow.components.seconds) + Double(slow.components.attoseconds) / 1e18) }
                        }
                    }
                })
            }
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension Frame {
    var labelSeq: UInt64? {
        if case .labels(let seq, _) = self { return UInt64(seq) }
        return nil
    }
    var labels: [Label] {
        if case .labels(_, let l) = self { return l }
        return []
    }
}
