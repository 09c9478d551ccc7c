import Foundation
import Testing

@testable import LabelerCore

/// Seeded mutation fuzzing of the parsers that read bytes from outside: the DAG-CBOR decoder, the
/// label decoder and the subscribeLabels frame parser (issue 8). Seeds are the shared vectors'
/// bytes, the subscribe frames and random DAG-CBOR values; mutations flip bits, overwrite with
/// bytes that matter to CBOR (major-type boundaries, indefinite lengths, floats, huge lengths),
/// insert, delete, truncate, duplicate and splice. Properties: nothing crashes or hangs, and what
/// the strict decoder accepts is canonical (it re-encodes to exactly the input).
///
/// `FUZZ_ITERATIONS` (default 100,000 per target) makes it longer (`make soak` uses 1,000,000); the
/// libFuzzer harness in Fuzz/ covers the same targets with coverage guidance.
struct FuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"].flatMap(Int.init) ?? 100_000

    static let seeds: [[UInt8]] = {
        var out: [[UInt8]] = []
        for (i, v) in VectorTests.vectors.enumerated() {
            let signed = Hex.decode(v["signed_dag_cbor_hex"] as! String)!
            out.append(signed)
            out.append(Hex.decode(v["unsigned_dag_cbor_hex"] as! String)!)
            out.append(Frame.encodeLabels(seq: Int64(i + 1), signedLabels: [signed]))
        }
        out.append(Frame.info(name: "OutdatedCursor", message: "cursor is older than the stream").encoded())
        out.append(Frame.error(name: "FutureCursor", message: "Cursor in the future.").encoded())
        let frames = VectorTests.file["subscribe_frames"] as! [String: Any]
        for (k, v) in frames where k.hasSuffix("_hex") { out.append(Hex.decode(v as! String)!) }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<64 { out.append(randomValue(&rng, depth: 0).encoded()) }
        return out
    }()

    @Test func dagCBORDecoderAcceptsOnlyCanonicalInputAndNeverCrashes() throws {
        let stats = Self.fuzz(seed: 1) { input in
            guard let value = try? CBOR.decode(input) else { return false }
            #expect(value.encoded() == input, "accepted a non-canonical encoding: \(Hex.encode(input))")
            return true
        }
        print("fuzz CBOR.decode: \(stats)")
        #expect(stats.accepted > 0 && stats.rejected > 0)
    }

    @Test func labelDecoderNeverCrashes() throws {
        let stats = Self.fuzz(seed: 2) { input in
            guard let label = try? Label(dagCBOR: input) else { return false }
            // Whatever it accepts can be encoded and decoded again to the same label.
            #expect((try? Label(dagCBOR: label.signedBytes())) == label)
            return true
        }
        print("fuzz Label(dagCBOR:): \(stats)")
        #expect(stats.accepted > 0 && stats.rejected > 0)
    }

    @Test func frameParserNeverCrashes() throws {
        let stats = Self.fuzz(seed: 3) { input in
            guard let frame = try? Frame.parse(input) else { return false }
            #expect((try? Frame.parse(frame.encoded())) != nil, "a parsed frame re-encodes to something parseable")
            return true
        }
        print("fuzz Frame.parse: \(stats)")
        #expect(stats.accepted > 0 && stats.rejected > 0)
    }

    @Test func deepNestingAndHugeLengthsAreRefusedQuickly() {
        let deep = [UInt8](repeating: 0x81, count: 100_000) + [0x00]  // [[[[...0]]]]
        #expect(throws: CBORError.self) { try CBOR.decode(deep) }
        let deepMaps = [UInt8]([UInt8](repeating: 0xa1, count: 50_000).flatMap { [$0, 0x61, 0x61] as [UInt8] }) + [0x00]
        #expect(throws: CBORError.self) { try CBOR.decode(deepMaps) }
        // Lengths that promise far more than the input holds.
        for header: [UInt8] in [[0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x9b, 0, 0, 0, 1, 0, 0, 0, 0],
                                [0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x7a, 0xff, 0xff, 0xff, 0xff]] {
            #expect(throws: CBORError.self) { try CBOR.decode(header + [0x00]) }
        }
    }

    struct Stats: CustomStringConvertible {
        var inputs = 0, accepted = 0, rejected = 0
        var slowest: Duration = .zero
        var description: String {
            "\(inputs) inputs, \(accepted) accepted, \(rejected) rejected, slowest \(slowest.formatted(.units(allowed: [.microseconds])))"
        }
    }

    /// Runs `body` over `iterations` mutated inputs; `body` says whether the input was accepted.
    static func fuzz(seed: UInt64, _ body: ([UInt8]) -> Bool) -> Stats {
        var rng = SplitMix64(seed: seed)
        var stats = Stats()
        let clock = ContinuousClock()
        for i in 0..<iterations {
            let input: [UInt8]
            if i % 16 == 0 {
                input = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                input = mutate(seeds[Int(rng.next() % UInt64(seeds.count))], &rng)
            }
            let start = clock.now
            if body(input) { stats.accepted += 1 } else { stats.rejected += 1 }
            stats.slowest = max(stats.slowest, clock.now - start)
            stats.inputs += 1
        }
        #expect(stats.slowest < .seconds(1), "an input took \(stats.slowest)")
        return stats
    }

    static let interesting: [UInt8] = [
        0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x38, 0x3b, 0x40, 0x58, 0x5b, 0x5f, 0x60, 0x78, 0x7b, 0x7f,
        0x80, 0x98, 0x9b, 0x9f, 0xa0, 0xb8, 0xbb, 0xbf, 0xc0, 0xd8, 0x2a, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff,
    ]

    static func mutate(_ seed: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = seed
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let pos = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count))
            switch rng.next() % 8 {
            case 0 where !b.isEmpty: b[pos] ^= 1 << UInt8(rng.next() % 8)
            case 1 where !b.isEmpty: b[pos] = interesting[Int(rng.next() % UInt64(interesting.count))]
            case 2: b.insert(interesting[Int(rng.next() % UInt64(interesting.count))], at: pos)
            case 3 where !b.isEmpty: b.remove(at: pos)
            case 4: b = Array(b.prefix(pos))
            case 5 where !b.isEmpty:
                let end = min(b.count, pos + 1 + Int(rng.next() % 16))
                b.insert(contentsOf: b[pos..<end], at: pos)
            case 6:
                let other = seeds[Int(rng.next() % UInt64(seeds.count))]
                let cut = other.isEmpty ? 0 : Int(rng.next() % UInt64(other.count))
                b = Array(b.prefix(pos)) + other.suffix(from: cut)
            default:
                if !b.isEmpty { b[pos] = UInt8(truncatingIfNeeded: rng.next()) }
            }
        }
        return b
    }

    static func randomValue(_ rng: inout SplitMix64, depth: Int) -> CBOR {
        switch rng.next() % (depth > 3 ? 6 : 9) {
        case 0: return .unsigned(rng.next() >> (rng.next() % 64))
        case 1: return .negative(rng.next() >> (rng.next() % 64))
        case 2: return .bytes((0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        case 3: return .text(String((0..<Int(rng.next() % 30)).map { _ in "aé√😀zZ0:/#".randomElement(using: &rng)! }))
        case 4: return .bool(rng.next() % 2 == 0)
        case 5: return .null
        case 6: return .array((0..<Int(rng.next() % 5)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var m: [String: CBOR] = [:]
            for _ in 0..<Int(rng.next() % 5) { m["k\(rng.next() % 1000)"] = randomValue(&rng, depth: depth + 1) }
            return .map(m)
        }
    }
}
