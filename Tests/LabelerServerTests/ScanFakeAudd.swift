import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LabelerServer
import LabelerTestSupport
import Logging
import NIOCore
import Synchronization

/// A local stand-in for AuDD's enterprise endpoint and for the CDN the audio lives on: a real
/// HTTP server (Hummingbird on port 0).
///
/// - `POST /` bills like AuDD: the audio named by the `url` form field (its last path component)
///   has a scripted duration; the chunks `skip`, `every`, `limit` and `skip_first_seconds` select
///   are each one billed request, and each scanned chunk answers the scripted songs that overlap
///   it by at least 6 s (the ground truth: which song at which seconds).
/// - `GET /audio/NAME` serves the audio itself: a mono 8-bit WAV at 1 kHz of the scripted
///   duration (noise seeded by the name, so different names hash differently), or the bytes of
///   a file registered with `serve(_:bytes:)`.
struct FakeAudd: Sendable {
    struct Received: Decodable, Sendable {
        var api_token: String
        var url: String
        var accurate_offsets: String
        var skip: Int?
        var every: Int?
        var limit: Int?
        var skip_first_seconds: Int?
        var contentType: String?

        var params: AuddParams {
            AuddParams(skip: skip ?? 0, every: every ?? 1, limit: limit, skipFirstSeconds: skip_first_seconds ?? 0)
        }
    }

    /// A song in the ground truth: where it sits in the upload, in seconds.
    struct Span: Sendable {
        var artist: String
        var title: String
        var seconds: Range<Int>
        var score = 0
    }

    /// One audio file: its length and what AuDD recognises where; or a canned failure.
    struct Script: Sendable {
        var duration: Int
        var songs: [Span] = []
        /// A raw answer instead of the billed, scripted one (failures, odd shapes).
        var canned: (@Sendable () async throws -> Response)? = nil
    }

    /// Shared by the server's handlers and the test.
    final class Log: Sendable {
        let requests = Mutex<[Received]>([])
        /// Requests billed, per audio name.
        let billed = Mutex<[String: Int]>([:])
        let downloads = Mutex<[String]>([])
        /// When the last scan request for each audio arrived.
        let arrivals = Mutex<[String: ContinuousClock.Instant]>([:])
        let scripts: Mutex<[String: Script]>
        let files = Mutex<[String: [UInt8]]>([:])
        init(_ scripts: [String: Script]) { self.scripts = Mutex(scripts) }
    }

    let port: Int
    let log: Log

    var received: [Received] { log.requests.withLock { $0 } }
    var endpoint: String { "http://127.0.0.1:\(port)/" }
    func audioURL(_ name: String) -> String { "http://127.0.0.1:\(port)/audio/\(name)" }
    /// Requests billed in total, or for one audio file.
    func billed(_ name: String? = nil) -> Int { log.billed.withLock { d in name.map { d[$0] ?? 0 } ?? d.values.reduce(0, +) } }
    var downloads: [String] { log.downloads.withLock { $0 } }
    func arrival(_ name: String) -> ContinuousClock.Instant? { log.arrivals.withLock { $0[name] } }
    func script(_ name: String, _ s: Script) { log.scripts.withLock { $0[name] = s } }
    func serve(_ name: String, bytes: [UInt8], script: Script) {
        log.files.withLock { $0[name] = bytes }
        log.scripts.withLock { $0[name] = script }
    }

    /// How long `slow.mp3` takes to answer.
    static let slowDelay = Duration.milliseconds(2500)

    static func run(scripts extra: [String: Script] = [:], _ body: @Sendable (FakeAudd) async throws -> Void) async throws {
        let log = Log(defaultScripts.merging(extra) { $1 })
        let router = Router()
        router.post("/") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            var form = try URLEncodedFormDecoder().decode(Received.self, from: String(buffer: buffer))
            form.contentType = request.headers[.contentType]
            log.requests.withLock { $0.append(form) }
            let name = URL(string: form.url)?.lastPathComponent ?? ""
            log.arrivals.withLock { $0[name] = .now }
            guard let script = log.scripts.withLock({ $0[name] }) else {
                return json(#"{"status":"error","error":{"error_code":900,"error_message":"unexpected test file"}}"#)
            }
            if let canned = script.canned { return try await canned() }
            let starts = form.params.scannedChunkStarts(durationSeconds: script.duration)
            log.billed.withLock { $0[name, default: 0] += starts.count }
            return json(answer(script, chunks: starts))
        }
        router.get("/redirect") { request, _ -> Response in
            Response(status: .found, headers: [.location: request.uri.queryParameters.get("to") ?? "/"])
        }
        router.get("/audio/{name}") { _, ctx -> Response in
            let name = ctx.parameters.get("name") ?? ""
            log.downloads.withLock { $0.append(name) }
            if let bytes = log.files.withLock({ $0[name] }) {
                return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
            guard let script = log.scripts.withLock({ $0[name] }) else { return Response(status: .notFound) }
            if name == "slow-download.wav" { try await Task.sleep(for: slowDelay) }
            return Response(status: .ok, headers: [.contentType: "audio/wav"], body: .init(byteBuffer: ByteBuffer(bytes: wav(seconds: script.duration, seed: name))))
        }
        var logger = Logger(label: "fake-audd")
        logger.logLevel = .error
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            try await body(FakeAudd(port: client.port!, log: log))
        }
    }

    /// AuDD's enterprise answer for the scanned chunks: a group per chunk with a song in it.
    static func answer(_ script: Script, chunks: [Int]) -> String {
        var groups: [String] = []
        for start in chunks {
            let end = min(start + 12, script.duration)
            let songs = script.songs.filter { min(end, $0.seconds.upperBound) - max(start, $0.seconds.lowerBound) >= min(6, end - start) }
            guard !songs.isEmpty else { continue }
            groups.append(group(start, songs.map { ($0.artist, $0.title, $0.score) }))
        }
        return #"{"status":"success","result":["# + groups.joined(separator: ",") + "]}"
    }

    static func json(_ s: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    static func group(_ seconds: Int, _ songs: [(String, String, Int)]) -> String {
        let ss = songs.map { #"{"artist":"\#($0.0)","title":"\#($0.1)","album":"Album","score":\#($0.2),"timecode":"00:05","song_link":"https://lis.tn/x"}"# }
        return #"{"offset":"\#(String(format: "%02d:%02d", seconds / 60, seconds % 60))","songs":[\#(ss.joined(separator: ","))]}"#
    }

    /// `count` songs of `seconds` each, back to back from `from`: a DJ mix's ground truth.
    static func mix(songs count: Int, seconds: Int, from: Int = 0) -> [Span] {
        (0..<count).map { Span(artist: "Artist \($0)", title: "Song \($0)", seconds: from + $0 * seconds..<from + ($0 + 1) * seconds) }
    }

    static let defaultScripts: [String: Script] = [
        "clean.mp3": Script(duration: 240),
        "null.mp3": Script(duration: 30, canned: { json(#"{"status":"success","result":null}"#) }),
        // Daft Punk in 4 of 5 chunks (spelled two ways), one other song.
        "dominant.mp3": Script(duration: 60, songs: [
            Span(artist: "Daft Punk", title: "One More Time", seconds: 0..<12, score: 80),
            Span(artist: "DAFT PUNK", title: "one more time", seconds: 12..<24, score: 95),
            Span(artist: "Daft Punk", title: "One More Time", seconds: 24..<36, score: 90),
            Span(artist: "Someone Else", title: "Another Song", seconds: 36..<48, score: 60),
            Span(artist: "Daft Punk", title: "One More Time", seconds: 48..<60, score: 85),
        ]),
        // An hour-long DJ set of twenty 3-minute songs.
        "mix.mp3": Script(duration: 3600, songs: mix(songs: 20, seconds: 180)),
        // A 40-minute original with one copied 30-s excerpt at the start.
        "excerpt.mp3": Script(duration: 2400, songs: [Span(artist: "Copied", title: "Hook", seconds: 0..<30)]),
        "slow-download.wav": Script(duration: 60),
        "single.mp3": Script(duration: 30, canned: { json(#"{"status":"success","result":{"artist":"Solo","title":"Only","timecode":"00:30"}}"#) }),
        "slow.mp3": Script(duration: 60, canned: {
            try await Task.sleep(for: slowDelay)
            return json(#"{"status":"success","result":[]}"#)
        }),
        "500.mp3": Script(duration: 60, canned: { Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "upstream exploded"))) }),
        "garbage.mp3": Script(duration: 60, canned: {
            Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>hello</html>")))
        }),
        "error.mp3": Script(duration: 60, canned: {
            json(#"{"status":"error","error":{"error_code":300,"error_message":"Recognition failed: the audio file is too short"}}"#)
        }),
        "shape.mp3": Script(duration: 60, canned: { json(#"{"status":"success","result":[{"offset":"00:00","songs":"none"}]}"#) }),
    ]

    /// A mono, 8-bit, 1 kHz WAV of `seconds` (1 KB per second), noise seeded by `seed`.
    static func wav(seconds: Int, seed: String) -> [UInt8] {
        let rate = 1000
        let n = seconds * rate
        var out: [UInt8] = []
        out.reserveCapacity(44 + n)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out += $0 } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { out += $0 } }
        out += Array("RIFF".utf8); u32(36 + n); out += Array("WAVE".utf8)
        out += Array("fmt ".utf8); u32(16); u16(1); u16(1); u32(rate); u32(rate); u16(1); u16(8)
        out += Array("data".utf8); u32(n)
        var x = UInt64(truncatingIfNeeded: seed.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 })
        for _ in 0..<n {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            out.append(UInt8(96 + Int(x % 64)))
        }
        return out
    }
}

/// `Harness.run` with the scanner pointed at a fake AuDD and a configurable scan timeout
/// (`ServerConfig.scanTimeoutSeconds` has no environment variable).
func runScanHarness(
    audd: FakeAudd?, dir: TempDir = TempDir(), environment: [String: String] = [:], scanTimeoutSeconds: Int = 10,
    _ body: @Sendable (Harness) async throws -> Void
) async throws {
    var env = environment
    // The fake serves its audio on 127.0.0.1.
    if env["SCAN_DOWNLOAD_ALLOW_PRIVATE"] == nil { env["SCAN_DOWNLOAD_ALLOW_PRIVATE"] = "1" }
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
