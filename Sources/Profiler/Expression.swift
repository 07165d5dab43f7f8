/// A metric formula: numbers, variables, + − × ÷ and parentheses (likwid's metric syntax).
public indirect enum Expression: Equatable, CustomStringConvertible, Sendable {
    case number(Double)
    case variable(String)
    case binary(Character, Expression, Expression)
    case negate(Expression)

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public static func parse(_ text: String) throws -> Expression {
        var p = Parser(chars: Array(text), i: 0)
        let e = try p.sum()
        p.skip()
        guard p.i == p.chars.count else {
            throw ParseError(description: "unexpected '\(p.chars[p.i])' at column \(p.i + 1) of '\(text)'")
        }
        return e
    }

    /// Variables the formula reads.
    public var variables: Set<String> {
        switch self {
        case .number: return []
        case .variable(let v): return [v]
        case .binary(_, let a, let b): return a.variables.union(b.variables)
        case .negate(let a): return a.variables
        }
    }

    /// nil when a variable has no value (the metric is then unavailable, never 0).
    public func evaluate(_ env: [String: Double]) -> Double? {
        switch self {
        case .number(let v): return v
        case .variable(let n): return env[n]
        case .negate(let a): return a.evaluate(env).map { -$0 }
        case let .binary(op, a, b):
            guard let x = a.evaluate(env), let y = b.evaluate(env) else { return nil }
            switch op {
            case "+": return x + y
            case "-": return x - y
            case "*": return x * y
            default: return y == 0 ? nil : x / y
            }
        }
    }

    public var description: String {
        switch self {
        case .number(let v): return "\(v)"
        case .variable(let n): return n
        case .negate(let a): return "-(\(a))"
        case let .binary(op, a, b): return "(\(a) \(op) \(b))"
        }
    }

    struct Parser {
        let chars: [Character]
        var i: Int

        mutating func skip() { while i < chars.count && chars[i] == " " { i += 1 } }

        mutating func sum() throws -> Expression {
            var e = try product()
            while true {
                skip()
                guard i < chars.count, chars[i] == "+" || chars[i] == "-" else { return e }
                let op = chars[i]; i += 1
                e = .binary(op, e, try product())
            }
        }

        mutating func product() throws -> Expression {
            var e = try unary()
            while true {
                skip()
                guard i < chars.count, chars[i] == "*" || chars[i] == "/" else { return e }
                let op = chars[i]; i += 1
                e = .binary(op, e, try unary())
            }
        }

        mutating func unary() throws -> Expression {
            skip()
            if i < chars.count && chars[i] == "-" { i += 1; return .negate(try unary()) }
            return try atom()
        }

        mutating func atom() throws -> Expression {
            skip()
            guard i < chars.count else { throw ParseError(description: "formula ends too early") }
            let c = chars[i]
            if c == "(" {
                i += 1
                let e = try sum()
                skip()
                guard i < chars.count, chars[i] == ")" else {
                    throw ParseError(description: "missing ')' at column \(i + 1)")
                }
                i += 1
                return e
            }
            if c.isNumber || c == "." {
                let start = i
                while i < chars.count,
                    chars[i].isNumber || chars[i] == "." || chars[i] == "e" || chars[i] == "E"
                        || ((chars[i] == "-" || chars[i] == "+") && i > start
                            && (chars[i - 1] == "e" || chars[i - 1] == "E"))
                { i += 1 }
                guard let v = Double(String(chars[start..<i])) else {
                    throw ParseError(description: "bad number '\(String(chars[start..<i]))'")
                }
                return .number(v)
            }
            if c.isLetter || c == "_" {
                let start = i
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
                return .variable(String(chars[start..<i]))
            }
            throw ParseError(description: "unexpected '\(c)' at column \(i + 1)")
        }
    }
}
