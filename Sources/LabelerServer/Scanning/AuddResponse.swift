import EventLog
import Foundation

/// Reads AuDD's JSON answer into matches (pure; no IO).
///
/// Accepted shapes, as the original service parsed them (original-service.md §4):
/// - `{"status": "success", "result": [{"offset": "01:24", "songs": [song, …]}, …]}` — the
///   enterprise endpoint: one group per recognised 12-second segment;
/// - `{"status": "success", "result": song}` — the standard endpoint: one song, no offset;
/// - `{"status": "success", "result": null}` (or no `result`) — nothing recognised;
/// - `{"status": "error", "error": {"error_code": 900, "error_message": "…"}}` — a failure.
///
/// Unlike the original, a body without `status: success` is never read as clean: any other
/// status, a non-object body or a group or song that is not an object is a failure.
enum AuddResponse {
    static func parse(_ body: [UInt8]) throws(ScanFailure) -> [ScanMatch] {
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) } catch {
            throw ScanFailure(.malformedResponse, "AuDD's response is not JSON: \(snippet(body))")
        }
        guard let top = json as? [String: Any] else {
            throw ScanFailure(.malformedResponse, "AuDD's response is not a JSON object: \(snippet(body))")
        }
        switch top["status"] as? String {
        case "success": break
        case "error": throw ScanFailure(.providerError, "AuDD error: \(errorMessage(top) ?? snippet(body))")
        case let other?: throw ScanFailure(.malformedResponse, "AuDD's response has an unexpected status \"\(other)\"")
        case nil: throw ScanFailure(.malformedResponse, "AuDD's response has no status: \(snippet(body))")
        }
        switch top["result"] {
        case nil, is NSNull:
            return []
        case let groups as [Any]:
            var matches: [ScanMatch] = []
            for (i, g) in groups.enumerated() {
                guard let group = g as? [String: Any] else {
                    throw ScanFailure(.malformedResponse, "AuDD's result[\(i)] is not an object")
                }
                let offset = offsetMs(group["offset"])
                switch group["songs"] {
                case nil, is NSNull: continue
                case let songs as [Any]:
                    for (j, s) in songs.enumerated() {
                        guard let song = s as? [String: Any] else {
                            throw ScanFailure(.malformedResponse, "AuDD's result[\(i)].songs[\(j)] is not an object")
                        }
                        matches.append(match(song, offsetMs: offset))
                    }
                default:
                    throw ScanFailure(.malformedResponse, "AuDD's result[\(i)].songs is not an array")
                }
            }
            return matches
        case let song as [String: Any]:
            return [match(song, offsetMs: nil)]
        default:
            throw ScanFailure(.malformedResponse, "AuDD's result is neither an array nor an object")
        }
    }

    /// One song. Missing or mistyped optional fields are absent; artist and title default to
    /// "Unknown"; the score is an integer clamped to 0–100 (0 when absent, as AuDD gives no score
    /// with `accurate_offsets`).
    static func match(_ song: [String: Any], offsetMs: Int?) -> ScanMatch {
        func text(_ k: String) -> String? {
            guard let s = song[k] as? String else { return nil }
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            return t.isEmpty ? nil : t
        }
        return ScanMatch(
            artist: text("artist") ?? "Unknown", title: text("title") ?? "Unknown", album: text("album"),
            isrc: text("isrc"), timecode: text("timecode"), offsetMs: offsetMs, score: score(song["score"]),
            songLink: text("song_link"))
    }

    static func score(_ v: Any?) -> Int {
        let d: Double
        switch v {
        case let n as NSNumber: d = n.doubleValue
        case let s as String: d = Double(s.trimmingCharacters(in: .whitespaces)) ?? 0
        default: return 0
        }
        guard d.isFinite else { return 0 }
        return Int(min(100, max(0, d.rounded())))
    }

    /// A segment offset: a number is taken as milliseconds (as the original did); a string is
    /// `MM:SS` or `HH:MM:SS` (AuDD's enterprise form). Anything else: no offset.
    static func offsetMs(_ v: Any?) -> Int? {
        switch v {
        case let n as NSNumber:
            let d = n.doubleValue
            guard d.isFinite, d >= 0, d < 1e15 else { return nil }
            return Int(d.rounded())
        case let s as String:
            return parseClock(s)
        default:
            return nil
        }
    }

    static func parseClock(_ s: String) -> Int? {
        let parts = s.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        var values: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 9, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p) else { return nil }
            values.append(v)
        }
        // Seconds, and minutes when hours lead, are below 60; the leading field may be any size.
        guard values[values.count - 1] < 60, values.count == 2 || values[1] < 60 else { return nil }
        let seconds = values.reduce(0) { $0 * 60 + $1 }
        return seconds * 1000
    }

    /// AuDD's `{"error": {"error_code", "error_message"}}`, as one line.
    static func errorMessage(_ top: [String: Any]) -> String? {
        guard let e = top["error"] as? [String: Any] else { return top["error"] as? String }
        let message = e["error_message"] as? String
        let code = (e["error_code"] as? NSNumber)?.intValue
        switch (code, message) {
        case (let c?, let m?): return "\(m) (code \(c))"
        case (nil, let m?): return m
        case (let c?, nil): return "code \(c)"
        default: return nil
        }
    }

    /// The start of a body, printable, for error messages.
    static func snippet(_ body: [UInt8], max: Int = 200) -> String {
        if body.isEmpty { return "(empty body)" }
        let s = String(decoding: body.prefix(max), as: UTF8.self)
            .map { $0.isNewline || ($0.isASCII && $0.asciiValue! < 0x20) ? " " : String($0) }.joined()
        return body.count > max ? s + "…" : s
    }
}
