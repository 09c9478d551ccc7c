import AsyncHTTPClient
import EventLog
import Foundation
import NIOCore
import NIOHTTP1

/// AuDD's enterprise endpoint: POST a form with `api_token`, `url` (AuDD downloads the audio
/// itself), `accurate_offsets=1` and the pass's `skip`, `every`, `limit` and `skip_first_seconds`;
/// the answer is one group of songs per recognised 12-second chunk.
///
/// Uses the process-wide `HTTPClient.shared` (nothing to shut down). The whole exchange, body
/// included, must finish within `timeout`; the original service had no timeout at all.
public struct AuddScanner: Scanner {
    public let provider = "audd"
    let apiKey: String
    let endpoint: String
    let timeout: Duration
    let client: HTTPClient
    /// A day-long upload answers with ~7,200 groups (a few MB); anything far beyond is not AuDD.
    static let maxResponseBytes = 32 << 20

    public init(apiKey: String, endpoint: String, timeout: Duration, client: HTTPClient = .shared) {
        self.apiKey = apiKey
        self.endpoint = endpoint
        self.timeout = timeout
        self.client = client
    }

    public func scan(audioURL: String, params: AuddParams) async throws -> ScanOutcome {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: Self.form(apiKey: apiKey, audioURL: audioURL, params: params)))

        let (status, body) = try await exchange(request)
        let bytes = Array(body.readableBytesView)
        guard (200..<300).contains(status.code) else {
            // AuDD answers errors with 200 and `status: error`; a non-2xx status comes from
            // whatever stands in front of it. Say what it said if it is AuDD's error shape.
            var detail = AuddResponse.snippet(bytes)
            do { _ = try AuddResponse.parse(bytes) } catch where error.kind == .providerError { detail = error.message } catch {}
            throw ScanFailure(.httpStatus, "AuDD answered HTTP \(status.code): \(detail)")
        }
        return ScanOutcome(matches: try AuddResponse.parse(bytes), rawResponse: bytes)
    }

    /// Sends the request and reads the whole body, within the timeout; transport errors become
    /// `ScanFailure`s.
    func exchange(_ request: HTTPClientRequest) async throws(ScanFailure) -> (HTTPResponseStatus, ByteBuffer) {
        let client = client
        let timeout = timeout
        let seconds = Self.describe(timeout)
        do {
            return try await withThrowingTaskGroup(of: (HTTPResponseStatus, ByteBuffer)?.self) { group in
                group.addTask {
                    // The client's deadline covers connecting and the head: when it passes, the
                    // client reports the last connection error if it never connected (so a refused
                    // connection reads as unreachable, not as slow).
                    let response = try await client.execute(request, deadline: .now() + TimeAmount(timeout))
                    let body = try await response.body.collect(upTo: Self.maxResponseBytes)
                    return (response.status, body)
                }
                group.addTask {
                    // The body has no deadline of its own: this bounds the whole exchange, a
                    // moment after the client's deadline so that one speaks first.
                    try await Task.sleep(for: timeout + .milliseconds(250))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let result = first else {
                    throw ScanFailure(.timeout, "AuDD did not answer within \(seconds)")
                }
                return result
            }
        } catch let e as ScanFailure {
            throw e
        } catch let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout {
            throw ScanFailure(.timeout, "AuDD did not answer within \(seconds)")
        } catch is NIOTooManyBytesError {
            throw ScanFailure(.malformedResponse, "AuDD's response is larger than \(Self.maxResponseBytes) bytes")
        } catch {
            throw ScanFailure(.unreachable, "AuDD is unreachable: \(error)")
        }
    }

    static func describe(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }

    /// `application/x-www-form-urlencoded`: the three fields the original sent, then the pass's
    /// sampling parameters (always a `limit`, so every call has a known worst-case price).
    static func form(apiKey: String, audioURL: String, params: AuddParams) -> String {
        var fields = [("api_token", apiKey), ("url", audioURL), ("accurate_offsets", "1")]
        fields += [("skip", "\(params.skip)"), ("every", "\(params.every)")]
        if let limit = params.limit { fields.append(("limit", "\(limit)")) }
        fields.append(("skip_first_seconds", "\(params.skipFirstSeconds)"))
        return fields
            .map { "\(formEncode($0))=\(formEncode($1))" }.joined(separator: "&")
    }

    static func formEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + String(b >> 4, radix: 16, uppercase: true) + String(b & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
