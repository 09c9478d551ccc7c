import Foundation
import LabelerCore

/// Music made at test time (nothing downloaded, nothing committed): a seeded chord progression
/// with plucked triads on every beat and a melody on eighth notes, as 16-bit mono PCM; and the
/// ffmpeg/sox transforms real re-uploads go through.
enum SynthAudio {
    static let rate = 22_050

    typealias RNG = SplitMix64

    /// `seconds` of a piece; different seeds give different keys, tempi, progressions and melodies.
    static func piece(seed: UInt64, seconds: Double) -> [Int16] {
        var rng = RNG(state: seed &* 0x1234_5678_9ABC_DEF1 &+ 7)
        let beat = 60 / (84 + rng.unit() * 52)
        let root = 45 + rng.int(12)
        let scale = rng.unit() < 0.5 ? [0, 2, 4, 5, 7, 9, 11] : [0, 2, 3, 5, 7, 8, 10]
        let progression = (0..<4).map { _ in rng.int(7) }
        let n = Int(seconds * Double(rate))
        var out = [Double](repeating: 0, count: n)
        func freq(_ midi: Int) -> Double { 440 * pow(2, Double(midi - 69) / 12) }
        func note(_ midi: Int, from s: Int, length: Int, gain: Double, decay: Double, harmonic: Bool) {
            let f = freq(midi)
            for i in 0..<max(0, min(length, n - s)) {
                let t = Double(i) / Double(rate)
                var v = sin(2 * .pi * f * t)
                if harmonic { v += 0.5 * sin(4 * .pi * f * t) }
                out[s + i] += gain * exp(-t * decay) * v
            }
        }
        var t = 0.0
        var i = 0
        while t < seconds {
            let degree = progression[(i / 4) % 4]
            let s = Int(t * Double(rate))
            let length = Int(beat * Double(rate))
            for k in [0, 2, 4] {
                let d = degree + k
                note(root + scale[d % 7] + 12 * (d / 7), from: s, length: length, gain: 0.2, decay: 3, harmonic: true)
            }
            for half in 0..<2 {
                let midi = root + 12 + scale[rng.int(7)]
                if rng.unit() < 0.8 { note(midi, from: s + half * length / 2, length: length / 2, gain: 0.25, decay: 5, harmonic: false) }
            }
            t += beat
            i += 1
        }
        let peak = out.map(abs).max() ?? 1
        return out.map { Int16(($0 / (peak * 1.1) * 32767).rounded()) }
    }

    /// A 16-bit mono WAV.
    static func wav(_ samples: [Int16]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(44 + samples.count * 2)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out += $0 } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { out += $0 } }
        out += Array("RIFF".utf8); u32(36 + samples.count * 2); out += Array("WAVE".utf8)
        out += Array("fmt ".utf8); u32(16); u16(1); u16(1); u32(rate); u32(rate * 2); u16(2); u16(16)
        out += Array("data".utf8); u32(samples.count * 2)
        for s in samples { withUnsafeBytes(of: s.littleEndian) { out += $0 } }
        return out
    }

    struct ToolError: Error, CustomStringConvertible { let description: String }

    /// Runs ffmpeg or sox (or anything on the PATH), failing loudly.
    static func run(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ToolError(description: "\(args.joined(separator: " ")) exited \(p.terminationStatus): \(String(decoding: data, as: UTF8.self))")
        }
    }

    /// A directory of generated audio: `write(name, samples)`, then transforms by name.
    struct Workshop {
        let dir: String
        func path(_ name: String) -> String { dir + "/" + name }
        func write(_ name: String, _ samples: [Int16]) throws { try Data(wav(samples)).write(to: URL(fileURLWithPath: path(name))) }
        func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }
        func ffmpeg(_ input: String, _ output: String, _ args: [String]) throws {
            try run(["ffmpeg", "-v", "error", "-y", "-i", path(input)] + args + [path(output)])
        }
        func sox(_ inputs: [String], _ output: String, _ effects: [String] = []) throws {
            try run(["sox"] + inputs.map(path) + [path(output)] + effects)
        }
    }
}
