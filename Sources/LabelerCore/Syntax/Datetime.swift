import Foundation

/// atproto datetimes, kept as strings end to end (re-formatting would change signed bytes).
public enum Datetime {
    /// Microseconds since the Unix epoch, or nil when `s` is not a valid atproto datetime.
    public static func parse(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        guard b.count >= 20, b.count <= 64 else { return nil }
        func num(_ at: Int, _ len: Int) -> Int? {
            var v = 0
            for i in at..<at + len {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let year = num(0, 4), b[4] == 0x2d, let month = num(5, 2), b[7] == 0x2d, let day = num(8, 2),
            b[10] == UInt8(ascii: "T"), let hour = num(11, 2), b[13] == 0x3a, let minute = num(14, 2),
            b[16] == 0x3a, let second = num(17, 2)
        else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month, year), hour <= 23, minute <= 59,
            second <= 60
        else { return nil }
        var i = 19
        var micros = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            var scale = 100_000
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                micros += Int(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offsetSeconds = 0
        if b[i] == UInt8(ascii: "Z") {
            guard i + 1 == b.count else { return nil }
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard i + 6 == b.count, let oh = num(i + 1, 2), b[i + 3] == 0x3a, let om = num(i + 4, 2), oh <= 23,
                om <= 59
            else { return nil }
            if b[i] == UInt8(ascii: "-") && oh == 0 && om == 0 { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        let days = daysFromCivil(year, month, day)
        let secs = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
        if second == 60 {
            // A leap second only ends a UTC June or December (as the atproto interop tests have it).
            let utcDays = Int(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400)
            let (_, m, d) = civilFromDays(utcDays)
            guard secs - Int64(utcDays) * 86400 == 86399, (m == 6 && d == 30) || (m == 12 && d == 31) else { return nil }
        }
        return secs * 1_000_000 + Int64(micros)
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Formats microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (millisecond precision,
    /// as Ozone and JS `toISOString()` do).
    public static func format(micros: Int64) -> String {
        let ms = micros / 1000
        var secs = ms / 1000
        let milli = Int(ms % 1000)
        let z = Int(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400)
        secs -= Int64(z) * 86400
        let (y, m, d) = civilFromDays(z)
        let h = Int(secs / 3600), mi = Int(secs % 3600 / 60), s = Int(secs % 60)
        func pad(_ v: Int, _ w: Int) -> String {
            let str = String(v)
            return String(repeating: "0", count: max(0, w - str.count)) + str
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(milli, 3))Z"
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (m <= 2 ? y + 1 : y, m, d)
    }

    public static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec / 1000)
    }

    public static func now() -> String { format(micros: nowMicros()) }
}
