import Foundation

/// Secrets (signing key, admin token) live in files of their own with mode 0600; a file others
/// can read is refused at start-up.
public enum SecretFile {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    public static func read(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var st = stat()
        guard stat(path, &st) == 0 else { throw Error(description: "cannot stat \(path)") }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw Error(description: String(format: "%@ has mode %o; secret files must not be readable by group or others (chmod 600 %@)", path, mode, path))
        }
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Error(description: "cannot read \(path)")
        }
        return s.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes atomically with mode 0600 (created so, never widened) and syncs it to disk.
    public static func write(_ path: String, _ value: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Error(description: "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        let bytes = Array((value + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, 0o600)
        fsync(fd)
        close(fd)
        guard written == bytes.count, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw Error(description: "cannot write \(path)")
        }
    }
}
