import Foundation

/// The audio tools the labeler shells out to (Debian: `ffmpeg` for ffprobe, `libchromaprint-tools`
/// for fpcalc), each run with a time limit, off the cooperative thread pool.
public enum MediaTools {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// The duration in whole seconds (rounded up), from the container's metadata.
    public static func probeDuration(_ path: String, timeout: Duration = .seconds(30)) async throws(Failure) -> Int {
        let r = try await run("ffprobe", ["-v", "error", "-protocol_whitelist", "file", "-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", path], timeout: timeout)
        guard r.status == 0 else { throw Failure("ffprobe failed (exit \(r.status)): \(r.errorLine)") }
        let text = String(decoding: r.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let seconds = Double(text), seconds.isFinite, seconds > 0 else { throw Failure("ffprobe gave no duration (\"\(text.prefix(40))\")") }
        return Int(seconds.rounded(.up))
    }

    /// The raw Chromaprint fingerprint of the whole file (`fpcalc -raw -length 0`). fpcalc 1.5.1
    /// with FFmpeg 5 exits 3 ("Error decoding audio frame (End of file)") whenever it reads to the
    /// end of the file, with a valid fingerprint: 0 and 3 are success.
    public static func fingerprint(_ path: String, timeout: Duration = .seconds(120)) async throws(Failure) -> [UInt32] {
        let r = try await run("fpcalc", ["-raw", "-length", "0", path], timeout: timeout)
        guard r.status == 0 || r.status == 3 else { throw Failure("fpcalc failed (exit \(r.status)): \(r.errorLine)") }
        for line in String(decoding: r.stdout, as: UTF8.self).split(separator: "\n") where line.hasPrefix("FINGERPRINT=") {
            let items = line.dropFirst("FINGERPRINT=".count).split(separator: ",").compactMap { UInt32($0) }
            return items
        }
        throw Failure("fpcalc printed no fingerprint: \(r.errorLine)")
    }

    /// The fingerprint of the audio with its first `samples` samples (at 11,025 Hz mono, the rate
    /// Chromaprint works at) cut off: a copy cut at an arbitrary sample is misaligned with its
    /// reference by a fraction of an item, which costs up to 0.07 BER; shifting by 1/3 and 2/3 of
    /// an item and keeping the best recovers it (scan-cost.md §2.6 step 5).
    public static func fingerprint(_ path: String, shiftedBy samples: Int, timeout: Duration = .seconds(120)) async throws(Failure) -> [UInt32] {
        let shifted = path + ".shift\(samples).wav"
        defer { try? FileManager.default.removeItem(atPath: shifted) }
        let r = try await run(
            "ffmpeg", ["-v", "error", "-y", "-protocol_whitelist", "file", "-i", path, "-ac", "1", "-ar", "11025", "-af", "atrim=start_sample=\(samples)", "-f", "wav", shifted],
            timeout: timeout)
        guard r.status == 0 else { throw Failure("ffmpeg failed (exit \(r.status)): \(r.errorLine)") }
        return try await fingerprint(shifted, timeout: timeout)
    }

    /// Whether a tool is on the PATH.
    public static func available(_ tool: String) -> Bool {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }

    struct Output {
        var status: Int32
        var stdout: [UInt8]
        var stderr: [UInt8]
        var errorLine: String {
            String(decoding: stderr, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        }
    }

    /// Runs `tool` (found on the PATH) and collects its output; killed after `timeout`.
    static func run(_ tool: String, _ args: [String], timeout: Duration) async throws(Failure) -> Output {
        guard available(tool) else { throw Failure("\(tool) is not installed") }
        let result: Result<Output, Failure> = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                p.arguments = [tool] + args
                let out = Pipe(), err = Pipe()
                p.standardOutput = out
                p.standardError = err
                p.standardInput = FileHandle.nullDevice
                do { try p.run() } catch {
                    continuation.resume(returning: .failure(Failure("cannot run \(tool): \(error.localizedDescription)")))
                    return
                }
                let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
                let ms = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(ms)), execute: killer)
                // Read stderr on its own thread so neither pipe fills up and blocks the tool.
                let errData = DataBox()
                let errDone = DispatchSemaphore(value: 0)
                Thread.detachNewThread {
                    errData.data = err.fileHandleForReading.readDataToEndOfFile()
                    errDone.signal()
                }
                let outData = out.fileHandleForReading.readDataToEndOfFile()
                errDone.wait()
                p.waitUntilExit()
                killer.cancel()
                if p.terminationReason == .uncaughtSignal {
                    continuation.resume(returning: .failure(Failure("\(tool) did not finish within \(AuddScanner.describe(timeout))")))
                    return
                }
                continuation.resume(returning: .success(Output(status: p.terminationStatus, stdout: [UInt8](outData), stderr: [UInt8](errData.data))))
            }
        }
        return try result.get()
    }
}

/// Hands a reader thread's result to the thread that waits for it (after a semaphore).
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
