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
        let numbers = String(format: " %@ %3.0f%% %llu/%llu events  %.0f/s", bar, fraction * 100, done, total, rate)
        // One line that fits the terminal, or every redraw would start a new line: the label
        // (a list of read models) gives way first.
        let room = max(8, Self.columns() - 1 - numbers.count)
        let name = label.count <= room ? label : String(label.prefix(room - 1)) + "…"
        FileHandle.standardError.write(Data(("\r" + name + numbers + "\u{1B}[K").utf8))
    }

    static func columns() -> Int {
        var ws = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { return Int(ws.ws_col) }
        return 80
    }

    public func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
