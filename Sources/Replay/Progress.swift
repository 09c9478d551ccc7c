import Foundation

/// A one-line progress bar on a terminal (stderr); silent when stderr is not a terminal.
public final class ProgressBar: @unchecked Sendable {
    let enabled = isatty(2) == 1
    let start = Date()
    var lastDraw = Date.distantPast

    public init() {}

    public func update(_ label: String, _ done: UInt64, _ total: UInt64) {
        guard enabled, Date().timeIntervalSince(lastDraw) > 0.1 || done == total else { return }
        lastDraw = Date()
        let width = 30
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let filled = Int(fraction * Double(width))
        let rate = Double(done) / max(Date().timeIntervalSince(start), 0.001)
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let line = String(format: "\r%@ %@ %3.0f%% %llu/%llu events  %.0f/s", label, bar, fraction * 100, done, total, rate)
        FileHandle.standardError.write(Data(line.utf8))
    }

    public func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
