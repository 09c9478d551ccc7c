import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Why an HTTP exchange gave no answer to judge.
public struct TransportFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case unreachable, timeout, tooLarge }
    public let kind: Kind
    public let description: String
}

/// An answer: the status and the whole body.
public struct HTTPAnswer: Sendable {
    public let status: Int
    public let body: [UInt8]

    public var isSuccess: Bool { (200..<300).contains(status) }
    public var text: String { String(decoding: body, as: UTF8.self) }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(type, from: Data(body)) }

    /// The XRPC error message when the body is `{"error", "message"}`, else the start of the body.
    public var detail: String {
        struct XRPC: Decodable {
            var error: String?
            var message: String?
        }
        if let x = try? decode(XRPC.self), let m = x.message ?? x.error { return m }
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.isEmpty { return "(empty body)" }
        return t.count > 200 ? String(t.prefix(200)) + "…" : t
    }
}

/// One request/answer over AsyncHTTPClient, bounded as a whole (connect, head and body) by
/// `timeout`. Every outside service the loop talks to goes through here.
public struct HTTPExchange: Sendable {
    let client: HTTPClient
    public let timeout: Duration
    static let maxBody = 8 << 20

    public init(client: HTTPClient, timeout: Duration) {
        self.client = client
        self.timeout = timeout
    }

    public func get(_ url: String, headers: [(String, String)] = []) async throws(TransportFailure) -> HTTPAnswer {
        try await send(url, method: .GET, headers: headers, body: nil)
    }

    public func postJSON(_ url: String, _ json: some Encodable, headers: [(String, String)] = []) async throws(TransportFailure) -> HTTPAnswer {
        let bytes: Data
        do { bytes = try JSONEncoder().encode(json) } catch {
            throw TransportFailure(kind: .unreachable, description: "could not encode the request: \(error)")
        }
        return try await send(url, method: .POST, headers: headers + [("Content-Type", "application/json")], body: bytes)
    }

    public func send(_ url: String, method: HTTPMethod, headers: [(String, String)], body: Data?) async throws(TransportFailure) -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "labeler-moderation-loop")
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let prepared = request
        let client = client
        let timeout = timeout
        do {
            return try await withThrowingTaskGroup(of: HTTPAnswer?.self) { group in
                group.addTask {
                    let response = try await client.execute(prepared, deadline: .now() + TimeAmount(timeout))
                    let body = try await response.body.collect(upTo: Self.maxBody)
                    return HTTPAnswer(status: Int(response.status.code), body: Array(body.readableBytesView))
                }
                group.addTask {
                    // The client's deadline does not cover the body: this bounds the whole
                    // exchange, a moment later so the client's own error speaks first.
                    try await Task.sleep(for: timeout + .milliseconds(250))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let answer = first else {
                    throw TransportFailure(kind: .timeout, description: "no answer within \(Self.describe(timeout))")
                }
                return answer
            }
        } catch let e as TransportFailure {
            throw e
        } catch let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            throw TransportFailure(kind: .timeout, description: "no answer within \(Self.describe(timeout))")
        } catch is NIOTooManyBytesError {
            throw TransportFailure(kind: .tooLarge, description: "answer larger than \(Self.maxBody) bytes")
        } catch {
            throw TransportFailure(kind: .unreachable, description: "unreachable (\(Self.describe(error)))")
        }
    }

    static func describe(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }

    /// NIO's connection errors print as type dumps; keep the readable part.
    static func describe(_ error: any Error) -> String {
        let s = String(describing: error)
        if s.contains("connectionRefused") || s.contains("Connection refused") { return "connection refused" }
        return s.count > 160 ? String(s.prefix(160)) + "…" : s
    }
}

extension HTTPClient {
    /// A client for one run of the loop: a refused connection fails at once instead of being
    /// retried until the deadline (a scheduler run should say "PDS unreachable", not hang), and
    /// redirects are not followed.
    /// The caller shuts it down.
    public static func forLoop() -> HTTPClient {
        var config = HTTPClient.Configuration()
        config.connectionPool.retryConnectionEstablishment = false
        config.timeout.connect = .seconds(10)
        // Never follow a redirect: AsyncHTTPClient would replay X-Moderation-Key and the
        // Anthropic x-api-key to whatever host a 3xx names. A 3xx comes back as it is and every
        // caller takes it as an unexpected answer (a track check keeps the flag).
        config.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
    }
}

/// Joins a base URL and a path with exactly one slash.
func join(_ base: String, _ path: String) -> String {
    var b = base
    while b.hasSuffix("/") { b.removeLast() }
    return b + (path.hasPrefix("/") ? path : "/" + path)
}
