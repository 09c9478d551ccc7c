import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import LabelerCore
import LabelerServer
import LabelerTestSupport
import Logging
import NIOCore
import Synchronization

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

    /// Subscribes and collects frames until `until` says stop (or the timeout passes).
    func subscribe(
        cursor: UInt64?, slow: Duration? = nil, timeout: Duration = .seconds(20),
        until: @escaping @Sendable ([Frame]) -> Bool
    ) async throws -> (frames: [Frame], close: WebSocketCloseFrame?) {
        try await subscribeRaw(query: cursor.map { "cursor=\($0)" }, slow: slow, timeout: timeout, until: until)
    }

    func subscribeRaw(
        query: String?, slow: Duration? = nil, timeout: Duration = .seconds(20),
        until: @escaping @Sendable ([Frame]) -> Bool = { _ in false }
    ) async throws -> (frames: [Frame], close: WebSocketCloseFrame?) {
        let frames = FrameBox()
        let url = "ws://127.0.0.1:\(port)/xrpc/com.atproto.label.subscribeLabels" + (query.map { "?\($0)" } ?? "")
        let close = try await withThrowingTaskGroup(of: WebSocketCloseFrame?.self) { group in
            group.addTask {
                try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: Logger(label: "ws")) {
                    inbound, outbound, _ in
                    frames.setOutbound(outbound)
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .binary(let buffer) = message else { continue }
                        let frame = try Frame.parse(Array(buffer.readableBytesView))
                        let done = frames.m.withLock { f in
                            f.append(frame)
                            return until(f)
                        }
                        if done { break }
                        if let slow { try await Task.sleep(for: slow) }
                    }
                    try await outbound.close(.normalClosure, reason: nil)
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                // End the connection ourselves: the client does not stop on cancellation alone.
                try? await frames.outbound()?.close(.goingAway, reason: "test timeout")
                throw HarnessError("subscription timed out")
            }
            let r = try await group.next()!
            group.cancelAll()
            return r
        }
        return (frames.m.withLock { $0 }, close)
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

final class FrameBox: Sendable {
    let m = Mutex<[Frame]>([])
    private let writer = Mutex<WebSocketOutboundWriter?>(nil)
    func setOutbound(_ w: WebSocketOutboundWriter) { writer.withLock { $0 = w } }
    func outbound() -> WebSocketOutboundWriter? { writer.withLock { $0 } }
}
