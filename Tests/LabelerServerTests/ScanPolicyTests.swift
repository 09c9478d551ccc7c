import EventLog
import Foundation
import Hummingbird
@testable import LabelerServer
import Testing

/// The pure parts of scanning: the flag policy, AuDD's response shapes, the cost estimate, the form.
struct ScanPolicyTests {
    static func m(_ artist: String, _ title: String, at seconds: Int?, score: Int = 0, timecode: String? = nil) -> ScanMatch {
        ScanMatch(artist: artist, title: title, timecode: timecode, offsetMs: seconds.map { $0 * 1000 }, score: score)
    }

    // MARK: policy

    @Test func noMatchesNeverFlag() {
        for policy in [FlagPolicy(rule: .dominant), FlagPolicy(rule: .presence)] {
            let d = policy.decide([])
            #expect(!d.isFlagged)
            #expect(d.reason == "no matches")
            #expect(d.dominantMatch == nil && d.dominantPercent == 0 && d.sustainedSongs == 0)
        }
    }

    @Test func dominantSongIsCaseInsensitiveAndCountsSegments() {
        let matches = [
            Self.m("Daft Punk", "One More Time", at: 0), Self.m("DAFT PUNK", "one more time", at: 12),
            Self.m("daft punk ", "One More Time", at: 24), Self.m("Someone", "Else", at: 36),
        ]
        let d = FlagPolicy(rule: .dominant).decide(matches)
        #expect(d.isFlagged)
        #expect(d.dominantMatch == "daft punk - one more time")
        #expect(d.dominantPercent == 75)
        #expect(d.reason.hasPrefix("dominant: \"daft punk - one more time\" in 3 of 4 matched segments (75% ≥ 30%)"))
    }

    @Test func thresholdIsInclusiveAndConfigurable() {
        // 3 of 10 segments = exactly 30 %: flagged at 0.3 (≥), not at 0.31.
        var matches = (0..<3).map { Self.m("A", "Song", at: $0 * 12) }
        matches += (3..<10).map { Self.m("Other \($0)", "Track \($0)", at: $0 * 12) }
        #expect(FlagPolicy(rule: .dominant, threshold: 0.3).decide(matches).isFlagged)
        let strict = FlagPolicy(rule: .dominant, threshold: 0.31).decide(matches)
        #expect(!strict.isFlagged)
        #expect(strict.reason.hasPrefix("not flagged: \"a - song\" in 3 of 10 matched segments (30% < 31%)"))
        #expect(!FlagPolicy(rule: .dominant, threshold: 0.7).decide(matches).isFlagged)
    }

    @Test func twoCandidatesInOneSegmentCountThatSegmentOnce() {
        // AuDD may return two songs for one segment: 2 segments, one song in both (100 %).
        let matches = [Self.m("A", "X", at: 0), Self.m("B", "Y", at: 0), Self.m("A", "X", at: 12)]
        let d = FlagPolicy(rule: .dominant, threshold: 0.9).decide(matches)
        #expect(d.isFlagged && d.dominantPercent == 100)
    }

    @Test func mixOfSustainedSongsFlagsBelowTheShare() {
        // 3 songs at 3 offsets each, 4 one-offs: 13 segments, top share 3/13 = 23 % < 30 %.
        var matches: [ScanMatch] = []
        var t = 0
        for song in ["A", "B", "C"] {
            for _ in 0..<3 {
                matches.append(Self.m(song, "Song \(song)", at: t))
                t += 12
            }
        }
        for one in ["D", "E", "F", "G"] {
            matches.append(Self.m(one, "Song \(one)", at: t))
            t += 12
        }
        let d = FlagPolicy(rule: .dominant).decide(matches)
        #expect(d.isFlagged)
        #expect(d.dominantPercent == 23)
        #expect(d.sustainedSongs == 3)
        #expect(d.reason == "mix: 3 songs at ≥ 3 offsets (≥ 3 songs)")
        // Two sustained songs are not a mix (C's segments become one-offs: 13 segments still).
        let fewer = matches.enumerated().map { i, m in m.artist == "C" ? Self.m("One-off \(i)", "T", at: m.offsetMs! / 1000) : m }
        let d2 = FlagPolicy(rule: .dominant).decide(fewer)
        #expect(!d2.isFlagged && d2.sustainedSongs == 2)
    }

    @Test func repeatedOffsetsAreOnePositionAndTimecodesStandInWithoutOffsets() {
        // The same song three times at one offset is one position.
        let same = (0..<3).map { _ in Self.m("A", "X", at: 60) }
        #expect(MatchStats(same).sustainedSongs(atLeast: 3) == 0)
        // Without offsets, distinct timecodes are distinct positions (the original's signal).
        let timecodes = ["00:10", "01:10", "02:10"].map { Self.m("A", "X", at: nil, timecode: $0) }
        #expect(MatchStats(timecodes).sustainedSongs(atLeast: 3) == 1)
    }

    @Test func presenceFlagsAnyMatch() {
        let one = [Self.m("Somebody", "Anything", at: 0)]
        let d = FlagPolicy(rule: .presence).decide(one)
        #expect(d.isFlagged)
        #expect(d.reason == "presence: 1 match of 1 song")
        // The same single minor match under `dominant` with one segment is 100 % — also flagged;
        // one match among many segments is not.
        let many = one + (1..<10).map { Self.m("Other \($0)", "T", at: $0 * 12) }
        #expect(FlagPolicy(rule: .presence).decide(many).isFlagged)
        #expect(!FlagPolicy(rule: .dominant).decide(many).isFlagged)
    }

    @Test func policyNamesAndDescriptions() {
        #expect(FlagPolicy(name: "dominant", threshold: 0.3)?.description == "dominant(threshold=0.3,mix=3x3|3@25%)")
        #expect(FlagPolicy(name: "presence", threshold: 0.3)?.description == "presence")
        #expect(FlagPolicy(name: "loudest", threshold: 0.3) == nil)
        #expect(FlagPolicy(name: "dominant", threshold: 0) == nil)
        #expect(FlagPolicy(name: "dominant", threshold: 1.5) == nil)
    }

    @Test func decisionIsDeterministicOnTies() {
        let a = [Self.m("B", "b", at: 0), Self.m("A", "a", at: 12)]
        let b = Array(a.reversed())
        #expect(FlagPolicy(rule: .dominant).decide(a) == FlagPolicy(rule: .dominant).decide(b))
        #expect(FlagPolicy(rule: .dominant).decide(a).dominantMatch == "a - a")
    }

    // MARK: AuDD response

    static func parse(_ s: String) throws(ScanFailure) -> [ScanMatch] { try AuddResponse.parse(Array(s.utf8)) }

    @Test func enterpriseShapeParses() throws {
        let body = """
            {"status":"success","result":[
              {"offset":"00:12","songs":[{"artist":"A","title":"T","album":"Al","isrc":"USX","timecode":"01:02","score":87,"song_link":"https://lis.tn/x","label":"L"}]},
              {"offset":"1:02:03","songs":[{"score":"100.4"},{"artist":"B","title":"U","score":250}]},
              {"offset":42,"songs":[{"artist":"C","title":"V","score":-3}]},
              {"offset":"soon","songs":null},
              {"offset":"00:99","songs":[{"artist":"D","title":"W","score":0.9}]}
            ]}
            """
        let ms = try Self.parse(body)
        #expect(ms.count == 5)
        #expect(ms[0] == ScanMatch(artist: "A", title: "T", album: "Al", isrc: "USX", timecode: "01:02", offsetMs: 12_000, score: 87, songLink: "https://lis.tn/x"))
        #expect(ms[1] == ScanMatch(artist: "Unknown", title: "Unknown", offsetMs: 3_723_000, score: 100))
        #expect(ms[2].score == 100 && ms[2].offsetMs == 3_723_000)
        #expect(ms[3].offsetMs == 42 && ms[3].score == 0)
        #expect(ms[4].offsetMs == nil && ms[4].score == 1)
    }

    @Test func standardShapeAndEmptyResults() throws {
        let one = try Self.parse(#"{"status":"success","result":{"artist":"A","title":"T","timecode":"00:30"}}"#)
        #expect(one == [ScanMatch(artist: "A", title: "T", timecode: "00:30", score: 0)])
        #expect(try Self.parse(#"{"status":"success","result":null}"#).isEmpty)
        #expect(try Self.parse(#"{"status":"success"}"#).isEmpty)
        #expect(try Self.parse(#"{"status":"success","result":[]}"#).isEmpty)
        #expect(try Self.parse(#"{"status":"success","result":[{"offset":"00:00","songs":[]}]}"#).isEmpty)
    }

    @Test func failuresAreNeverClean() {
        let cases: [(String, ScanFailure.Kind, String)] = [
            (#"{"status":"error","error":{"error_code":901,"error_message":"Recognition failed"}}"#, .providerError, "AuDD error: Recognition failed (code 901)"),
            (#"{"status":"error"}"#, .providerError, "AuDD error: {\"status\":\"error\"}"),
            ("<html>bad gateway</html>", .malformedResponse, "AuDD's response is not JSON: <html>bad gateway</html>"),
            ("", .malformedResponse, "AuDD's response is not JSON: (empty body)"),
            ("[1,2]", .malformedResponse, "AuDD's response is not a JSON object: [1,2]"),
            (#"{"result":[]}"#, .malformedResponse, "AuDD's response has no status: {\"result\":[]}"),
            (#"{"status":"pending","result":[]}"#, .malformedResponse, "AuDD's response has an unexpected status \"pending\""),
            (#"{"status":"success","result":[1]}"#, .malformedResponse, "AuDD's result[0] is not an object"),
            (#"{"status":"success","result":[{"songs":"x"}]}"#, .malformedResponse, "AuDD's result[0].songs is not an array"),
            (#"{"status":"success","result":[{"songs":[7]}]}"#, .malformedResponse, "AuDD's result[0].songs[0] is not an object"),
            (#"{"status":"success","result":"none"}"#, .malformedResponse, "AuDD's result is neither an array nor an object"),
        ]
        for (body, kind, message) in cases {
            #expect(throws: ScanFailure(kind, message), "\(body)") { try Self.parse(body) }
        }
    }

    @Test func clockOffsets() {
        #expect(AuddResponse.parseClock("00:00") == 0)
        #expect(AuddResponse.parseClock("01:30") == 90_000)
        #expect(AuddResponse.parseClock("125:00") == 7_500_000)
        #expect(AuddResponse.parseClock("1:00:01") == 3_601_000)
        for bad in ["", "12", "1:2:3:4", "00:60", "1:60:00", "a:00", "-1:00", "00: 10", "1::2"] {
            #expect(AuddResponse.parseClock(bad) == nil, "\(bad)")
        }
    }

    // MARK: request

    @Test func formIsURLEncoded() throws {
        let form = AuddScanner.form(apiKey: "k&y=1", audioURL: "https://cdn.example/a b.mp3?x=1&y=é", params: AuddParams(skip: 4, limit: 60, skipFirstSeconds: 24))
        #expect(form == "api_token=k%26y%3D1&url=https%3A%2F%2Fcdn.example%2Fa%20b.mp3%3Fx%3D1%26y%3D%C3%A9&accurate_offsets=1&skip=4&every=1&limit=60&skip_first_seconds=24")
        struct F: Decodable { var api_token: String; var url: String; var accurate_offsets: String; var skip: Int; var every: Int; var limit: Int?; var skip_first_seconds: Int }
        let f = try URLEncodedFormDecoder().decode(F.self, from: form)
        #expect(f.api_token == "k&y=1" && f.url == "https://cdn.example/a b.mp3?x=1&y=é" && f.accurate_offsets == "1")
        #expect(f.skip == 4 && f.every == 1 && f.limit == 60 && f.skip_first_seconds == 24)
        #expect(!AuddScanner.form(apiKey: "k", audioURL: "https://a/b", params: AuddParams()).contains("limit"))
    }

    @Test func audioURLValidation() {
        for good in ["https://cdn.plyr.fm/audio/abc.mp3", "http://127.0.0.1:8080/x", "HTTPS://Example.com/a?b=c"] {
            #expect(throws: Never.self) { try ScanRequest.validateAudioURL(good) }
        }
        for bad in ["", "cdn.plyr.fm/a.mp3", "ftp://x/a.mp3", "file:///etc/passwd", "https://", "https:///path", "https://a b/c", "javascript:alert(1)"] {
            #expect(throws: XRPCError.self, "\(bad)") { try ScanRequest.validateAudioURL(bad) }
        }
    }
}
