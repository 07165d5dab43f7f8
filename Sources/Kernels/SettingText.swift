import Foundation

/// A setting a user typed that names no algorithm or no byte count, worded for the user.
public struct SettingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ConvAlgorithmKind {
    /// A comma-separated list of algorithm names as `--algorithms` takes it; nil stands for auto.
    public static func parseList(_ text: String, option: String = "--algorithms") throws -> [ConvAlgorithmKind?] {
        try text.split(separator: ",").map { raw in
            let s = raw.trimmingCharacters(in: .whitespaces)
            if s.lowercased() == "auto" { return nil }
            guard let k = ConvAlgorithmKind(userSpelling: s) else {
                throw SettingError("Unknown algorithm '\(s)' in \(option); use \(userChoices) or auto.")
            }
            return k
        }
    }
}

/// Byte counts as users type them: 4194304, 512K, 4M, 1G.
public enum ByteCount {
    public static func parse(_ s: String) -> Int? {
        var digits = s.trimmingCharacters(in: .whitespaces).uppercased()
        let scale = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var mult = 1
        if let last = digits.last, let m = scale[String(last)] {
            mult = m
            digits.removeLast()
        }
        guard let v = Int(digits), v > 0 else { return nil }
        return v * mult
    }
}
