import Foundation

/// This process's resource use, from /proc.
public enum ResourceUsage {
    /// Peak resident set size of this process (VmHWM), in MB.
    public static func peakResidentMB() -> Double? {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first
            return kb.map { $0 / 1024 }
        }
        return nil
    }
}
