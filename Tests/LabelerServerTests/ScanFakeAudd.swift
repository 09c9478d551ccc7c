import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LabelerServer
import LabelerTestSupport
import Logging
import NIOCore
import Synchronization

/// A local stand-in for AuDD's enterprise endpoint: a real HTTP server (Hummingbird on port 0)
/// that answers `POST /` according to the last path component of the `url` form field.
struct FakeAudd: Sendable {
    struct Received: Decodable, Sendable {
        var api_token: String
        var url: String
        var accurate_offsets: String
        var contentType: String?
    }

    /// Shared by the server's handler and the test.
    final class Log: Sendable {
        let requests = Mutex<[Received]>([])
    }

    let port: Int
    let log: Log

    var received: [Received] { log.requests.withLock { $0 } }
    var endpoint: String { "http://127.0.0.1:\(port)/" }

    /// How long `slow.mp3` takes to answer.
    static let slowDelay = Duration.milliseconds(2500)

    static func run(_ body: @Sendable (FakeAudd) async throws -> Void) async throws {
        let log = Log()
        let router = Router()
        router.post("/") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            var form = try URLEncodedFormDecoder().decode(Received.self, from: String(buffer: buffer))
            form.contentType = request.headers[.contentType]
            log.requests.withLock { $0.append(form) }
            let name = URL(string: form.url)?.lastPathComponent ?? ""
            return try await answer(name)
        }
        var logger = Logger(label: "fake-audd")
        logger.logLevel = .error
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            try await body(FakeAudd(port: client.port!, log: log))
        }
    }

    static func json(_ s: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    static func group(_ seconds: Int, _ songs: [(String, String, Int)]) -> String {
        let ss = songs.map { #"{"artist":"\#($0.0)","title":"\#($0.1)","album":"Album","score":\#($0.2),"timecode":"00:05","song_link":"https://lis.tn/x"}"# }
        return #"{"offset":"\#(String(format: "%02d:%02d", seconds / 60, seconds % 60))","songs":[\#(ss.joined(separator: ","))]}"#
    }

    /// Daft Punk in 4 of 5 segments (spelled two ways), one other song.
    static let dominantBody = #"{"status":"success","result":["#
        + [
            group(0, [("Daft Punk", "One More Time", 80)]), group(12, [("DAFT PUNK", "one more time", 95)]),
            group(24, [("Daft Punk", "One More Time", 90)]), group(36, [("Someone Else", "Another Song", 60)]),
            group(48, [("Daft Punk", "One More Time", 85)]),
        ].joined(separator: ",") + "]}"

    /// A DJ set: three songs at three offsets each, four one-offs (top share 3/13 < 30 %).
    static let mixBody: String = {
        var groups: [String] = []
        var t = 0
        for song in ["A", "B", "C"] {
            for _ in 0..<3 {
                groups.append(group(t, [("Artist \(song)", "Song \(song)", 0)]))
                t += 12
            }
        }
        for one in ["D", "E", "F", "G"] {
            groups.append(group(t, [("Artist \(one)", "Song \(one)", 0)]))
            t += 12
        }
        return #"{"status":"success","result":["# + groups.joined(separator: ",") + "]}"
    }()

    static func answer(_ name: String) async throws -> Response {
        switch name {
        case "clean.mp3": return json(#"{"status":"success","result":[]}"#)
        case "null.mp3": return json(#"{"status":"success","result":null}"#)
        case "dominant.mp3": return json(dominantBody)
        case "mix.mp3": return json(mixBody)
        case "single.mp3": return json(#"{"status":"success","result":{"artist":"Solo","title":"Only","timecode":"00:30"}}"#)
        case "slow.mp3":
            try await Task.sleep(for: slowDelay)
            return json(#"{"status":"success","result":[]}"#)
        case "500.mp3": return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "upstream exploded")))
        case "garbage.mp3": return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>hello</html>")))
        case "error.mp3": return json(#"{"status":"error","error":{"error_code":300,"error_message":"Recognition failed: the audio file is too short"}}"#)
        case "shape.mp3": return json(#"{"status":"success","result":[{"offset":"00:00","songs":"none"}]}"#)
        default: return json(#"{"status":"error","error":{"error_code":900,"error_message":"unexpected test file"}}"#)
        }
    }
}

/// `Harness.run` with the scanner pointed at a fake AuDD and a configurable scan timeout
/// (`ServerConfig.scanTimeoutSeconds` has no environment variable).
func runScanHarness(
    audd: FakeAudd?, dir: TempDir = TempDir(), environment: [String: String] = [:], scanTimeoutSeconds: Int = 10,
    _ body: @Sendable (Harness) async throws -> Void
) async throws {
    var env = environment
    if env["SCAN_MODE"] == nil { env["SCAN_MODE"] = "full" }
    if let audd {
        env["AUDD_API_KEY"] = "test"
        env["AUDD_API_URL"] = audd.endpoint
    }
    var config = try ServerConfig.resolve(dataDir: dir.path, host: "127.0.0.1", port: 0, environment: env)
    config.scanTimeoutSeconds = scanTimeoutSeconds
    var logger = Logger(label: "test")
    logger.logLevel = .error
    let service = try await LabelerService(config: config, logger: logger)
    let app = buildApplication(service: service, config: config, logger: logger)
    let token = config.adminToken
    try await app.test(.live) { client in
        _ = try await client.execute(uri: "/health", method: .get)
        try await body(Harness(client: client, port: client.port!, token: token, service: service))
    }
    service.close()
    _ = dir
}
