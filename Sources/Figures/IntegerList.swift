import Foundation

/// Lists of positive integers as users type them: 1,2,4.
public enum IntegerList {
    public static func parse(_ s: String, option: String) throws -> [Int] {
        let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw IntegerListError(description: "\(option) must be positive integers separated by commas, got '\(s)'.")
        }
        return v.map { $0! }
    }
}

/// A list that is not positive integers, worded for the user.
public struct IntegerListError: Error, CustomStringConvertible {
    public let description: String
}
