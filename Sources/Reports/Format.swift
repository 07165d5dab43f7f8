import Foundation

/// Number formats shared by the console tables and the reports.
public enum Format {
    public static func bytes(_ b: Double) -> String {
        if b >= 1_073_741_824 { return String(format: "%.1f GiB", b / 1_073_741_824) }
        if b >= 1_048_576 { return String(format: "%.1f MiB", b / 1_048_576) }
        if b >= 1024 { return String(format: "%.0f KiB", b / 1024) }
        return String(format: "%.0f B", b)
    }
    public static func ms(_ s: Double) -> String { String(format: s < 0.01 ? "%.3f" : "%.2f", s * 1e3) }
    public static func g(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }
    /// 1234567 -> "1,234,567" (Keras's summary style).
    public static func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }
    public static func sci(_ v: Double) -> String { String(format: "%.1e", v) }
}
