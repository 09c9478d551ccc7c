import Foundation

/// Starts `body` on a thread of its own named `name`, for the OS too: Foundation does not name
/// the OS thread on Linux, and a named one shows in `top -H` and perf.
public func startNamedThread(_ name: String, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
        try? name.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
        body()
    }
    thread.name = name
    thread.start()
}
