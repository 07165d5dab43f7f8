import Foundation

/// JSON as cnnscope writes it: key-sorted and slash-unescaped, pretty for files and `--json`, or
/// one line per value for JSON-lines output. The one encoder configuration of every module.
public enum JSONText {
    public static func pretty<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try data(value), as: UTF8.self)
    }

    public static func data<T: Encodable>(_ value: T) throws -> Data {
        try encoder([.prettyPrinted]).encode(value)
    }

    public static func line<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder([]).encode(value), as: UTF8.self)
    }

    static func encoder(_ extra: JSONEncoder.OutputFormatting) -> JSONEncoder {
        let enc = JSONEncoder()
        enc.outputFormatting = extra.union([.sortedKeys, .withoutEscapingSlashes])
        return enc
    }
}
