import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization

/// One request a fake received.
struct Recorded: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var headers: [String: String]
    var body: String

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
}

/// A stand-in for a paid outside service: a real HTTP server (Hummingbird on port 0) that
/// records every request and answers with what the test's handler says.
struct FakeServer: Sendable {
    final class Log: Sendable {
        let requests = Mutex<[Recorded]>([])
    }

    let port: Int
    let log: Log
    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [Recorded] { log.requests.withLock { $0 } }
    func requests(_ path: String) -> [Recorded] { requests.filter { $0.path == path } }

    typealias Handler = @Sendable (Recorded) async -> (Int, String)

    static func run(_ handler: @escaping Handler, _ body: @Sendable (FakeServer) async throws -> Void) async throws {
        let log = Log()
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: 4 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            var query: [String: String] = [:]
            for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
            let recorded = Recorded(
                method: request.method.rawValue, path: request.uri.path, query: query, headers: headers, body: String(buffer: buffer))
            log.requests.withLock { $0.append(recorded) }
            let (status, text) = await handler(recorded)
            // A 3xx answer's text is its Location.
            if (300..<400).contains(status) {
                return Response(status: .init(code: status), headers: [.location: text, .contentLength: "0"])
            }
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        var logger = Logger(label: "fake")
        logger.logLevel = .error
        let app = Application(responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            try await body(FakeServer(port: client.port!, log: log))
        }
    }
}

/// Nothing listens on port 1: connections are refused at once.
let refusingURL = "http://127.0.0.1:1"

func json(_ object: Any) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
}

/// The plyr.fm API: `GET /tracks/{id}` answers 404 for `deleted`, the given status for `broken`,
/// 200 otherwise.
func trackAPI(deleted: Set<Int64> = [], broken: [Int64: Int] = [:]) -> FakeServer.Handler {
    { r in
        guard r.method == "GET", r.path.hasPrefix("/tracks/"), let id = Int64(r.path.dropFirst("/tracks/".count)) else {
            return (404, #"{"detail":"Not Found"}"#)
        }
        if deleted.contains(id) { return (404, #"{"detail":"track not found"}"#) }
        if let s = broken[id] { return (s, #"{"detail":"upstream trouble"}"#) }
        return (200, json(["id": id, "title": "a track"]))
    }
}
