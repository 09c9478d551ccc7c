import Foundation

/// A fresh temporary directory, removed when the value is released.
public final class TempDir: @unchecked Sendable {
    public let path: String
    public init(path: String = NSTemporaryDirectory() + "labeler-test-" + UUID().uuidString) {
        self.path = path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The package's build products directory (where `labeler` is), found from this test binary.
public func productsDirectory() -> URL {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("labeler").path) { return url }
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug")
}
