import Foundation
import Tensor

/// Keras padding modes.
public enum Padding: String, Codable, CaseIterable, Sendable {
    case same, valid
}

/// Errors of the convolution engine; each names the shapes involved.
public enum ConvError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidShape(String)
    case unsupported(algorithm: String, reason: String)

    public var description: String {
        switch self {
        case .invalidShape(let s): return s
        case let .unsupported(a, r): return "\(a) cannot run this layer: \(r)"
        }
    }
}

/// The shape of one 2-D convolution, Keras conventions:
///   input NHWC (N,H,W,C), weights HWIO (R,S,C,K), bias (K), output NHWC (N,P,Q,K).
/// `same`: P = ceil(H / stride), total padding max((P-1)·stride + R − H, 0), the smaller half
/// on top/left (so even kernels pad more at the bottom/right, as TensorFlow does).
/// `valid`: P = floor((H − R) / stride) + 1.
public struct ConvGeometry: Hashable, Codable, CustomStringConvertible, Sendable {
    public let n: Int, h: Int, w: Int, c: Int, k: Int, r: Int, s: Int
    public let strideH: Int, strideW: Int
    public let padding: Padding
    public let p: Int, q: Int
    /// The padding `padding`'s rule gives, or (`init(mirroring:)`) the mirror of another layer's.
    public private(set) var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    public init(
        n: Int, h: Int, w: Int, c: Int, k: Int, r: Int, s: Int? = nil,
        stride: Int = 1, strideW: Int? = nil, padding: Padding = .same
    ) throws {
        let s = s ?? r
        let sw = strideW ?? stride
        let text =
            """
            input (\(n),\(h),\(w),\(c)), kernel \(r)x\(s), \(k) filters, stride \(stride)x\(sw), padding \
            \(padding.rawValue)
            """
        for (name, v) in [
            ("N", n), ("H", h), ("W", w), ("C", c), ("K", k), ("R", r), ("S", s), ("stride", stride), ("strideW", sw),
        ] {
            guard v > 0 else { throw ConvError.invalidShape("\(text): \(name) must be positive, got \(v)") }
        }
        guard r <= 64, s <= 64, stride <= 64, sw <= 64 else {
            throw ConvError.invalidShape("\(text): kernel and stride must be at most 64")
        }
        func outSize(_ i: Int, _ f: Int, _ st: Int) -> (Int, Int, Int)? {
            switch padding {
            case .valid:
                guard f <= i else { return nil }
                return ((i - f) / st + 1, 0, 0)
            case .same:
                let o = (i + st - 1) / st
                let total = max((o - 1) * st + f - i, 0)
                return (o, total / 2, total - total / 2)
            }
        }
        guard let (p, pt, pb) = outSize(h, r, stride) else {
            throw ConvError.invalidShape(
                "\(text): kernel height \(r) is larger than the input height \(h) with valid padding")
        }
        guard let (q, pl, pr) = outSize(w, s, sw) else {
            throw ConvError.invalidShape(
                "\(text): kernel width \(s) is larger than the input width \(w) with valid padding")
        }
        guard pt < r, pb < r, pl < s, pr < s else {
            throw ConvError.invalidShape(
                "\(text): padding would exceed the kernel (kernel larger than the padded input)")
        }
        let elems = [n * h * w * c, r * s * c * k, n * p * q * k]
        guard elems.allSatisfy({ $0 > 0 && $0 < Int(Int32.max) }) else {
            throw ConvError.invalidShape("\(text): tensors too large (at most 2^31 elements each)")
        }
        self.n = n; self.h = h; self.w = w; self.c = c; self.k = k; self.r = r; self.s = s
        self.strideH = stride; self.strideW = sw; self.padding = padding
        self.p = p; self.q = q; padTop = pt; padBottom = pb; padLeft = pl; padRight = pr
    }

    /// The input gradient of a stride-1 'same' layer as a forward convolution of dy (N, P, Q, K) with
    /// the flipped kernel: K channels in, C out, and the layer's padding mirrored (top r−1−top, left
    /// s−1−left). For odd kernels that is the 'same' rule again; for even ones (2x2 pads only the
    /// bottom and right) it pads the top and left, which the 'same' rule never does.
    public init(mirroring g: ConvGeometry, batch: Int) throws {
        guard g.strideH == 1, g.strideW == 1, g.padding == .same else {
            throw ConvError.invalidShape("\(g): only a stride-1 'same' layer's input gradient is a forward convolution")
        }
        try self.init(n: batch, h: g.p, w: g.q, c: g.k, k: g.c, r: g.r, s: g.s, stride: 1, padding: .same)
        (padTop, padLeft) = (g.r - 1 - g.padTop, g.s - 1 - g.padLeft)
        (padBottom, padRight) = (g.r - 1 - padTop, g.s - 1 - padLeft)
    }

    /// Whether the padding is not `padding`'s rule (a mirrored geometry with an even kernel).
    public var hasMirroredPadding: Bool {
        guard padding == .same else { return false }
        let rule = (max((p - 1) * strideH + r - h, 0) / 2, max((q - 1) * strideW + s - w, 0) / 2)
        return rule != (padTop, padLeft)
    }

    /// The same layer with another batch size.
    public func withBatch(_ batch: Int) throws -> ConvGeometry {
        var g = try ConvGeometry(
            n: batch, h: h, w: w, c: c, k: k, r: r, s: s, stride: strideH, strideW: strideW, padding: padding)
        (g.padTop, g.padLeft, g.padBottom, g.padRight) = (padTop, padLeft, padBottom, padRight)
        return g
    }

    public var inputShape: TensorShape { try! TensorShape([n, h, w, c]) }
    public var weightShape: TensorShape { try! TensorShape([r, s, c, k]) }
    public var outputShape: TensorShape { try! TensorShape([n, p, q, k]) }

    /// Checks tensors against this geometry (batch may be any size ≤ n if `anyBatch`).
    public func check(input: Tensor, weights: Tensor, bias: Tensor?, output: Tensor) throws {
        guard input.shape.rank == 4, input.shape[1] == h, input.shape[2] == w, input.shape[3] == c else {
            throw ConvError.invalidShape("input \(input.shape) does not match the layer's (N,\(h),\(w),\(c))")
        }
        guard weights.shape.dims == [r, s, c, k] else {
            throw ConvError.invalidShape(
                "weights \(weights.shape) do not match (\(r),\(s),\(c),\(k)) (HWIO): input has \(c) channels")
        }
        if let bias, bias.shape.dims != [k] {
            throw ConvError.invalidShape("bias \(bias.shape) does not match (\(k))")
        }
        guard output.shape.dims == [input.shape[0], p, q, k] else {
            throw ConvError.invalidShape("output \(output.shape) does not match (\(input.shape[0]),\(p),\(q),\(k))")
        }
    }

    /// The `--layer` spelling: N=64,H=14,W=14,C=32,K=64,R=3,stride=1,pad=same.
    public var description: String {
        let ks = r == s ? "R=\(r)" : "R=\(r),S=\(s)"
        let st = strideH == strideW ? "stride=\(strideH)" : "stride=\(strideH)x\(strideW)"
        let mirrored = hasMirroredPadding ? ",padTop=\(padTop),padLeft=\(padLeft)" : ""
        return "N=\(n),H=\(h),W=\(w),C=\(c),K=\(k),\(ks),\(st),pad=\(padding.rawValue)\(mirrored)"
    }

    /// Short form for tables: 14x14x32->64 k3 s1 same.
    public var shortDescription: String {
        let ks = r == s ? "\(r)x\(r)" : "\(r)x\(s)"
        return "\(h)x\(w)x\(c)->\(k) \(ks)" + (strideH > 1 || strideW > 1 ? " s\(strideH)" : "")
            + (padding == .valid ? " valid" : "")
    }

    /// Parses the `--layer` spelling. Unknown keys and bad values are reported by name.
    public static func parse(_ text: String) throws -> ConvGeometry {
        var v: [String: Int] = [:]
        var pad = Padding.same
        var strideW: Int?
        for item in text.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw ConvError.invalidShape("layer '\(text)': '\(item)' is not KEY=VALUE") }
            let key = kv[0].lowercased()
            if key == "pad" || key == "padding" {
                guard let p = Padding(rawValue: kv[1].lowercased()) else {
                    throw ConvError.invalidShape("layer '\(text)': pad must be same or valid, got '\(kv[1])'")
                }
                pad = p
                continue
            }
            let known = ["n", "h", "w", "c", "k", "r", "s", "stride"]
            guard known.contains(key) else {
                throw ConvError.invalidShape("layer '\(text)': unknown key '\(kv[0])' (use N,H,W,C,K,R,S,stride,pad)")
            }
            if key == "stride", kv[1].contains("x") {
                let parts = kv[1].split(separator: "x").compactMap { Int($0) }
                guard parts.count == 2 else { throw ConvError.invalidShape("layer '\(text)': bad stride '\(kv[1])'") }
                v["stride"] = parts[0]; strideW = parts[1]
                continue
            }
            guard let n = Int(kv[1]) else {
                throw ConvError.invalidShape("layer '\(text)': \(kv[0]) must be an integer, got '\(kv[1])'")
            }
            v[key] = n
        }
        for req in ["h", "c", "k", "r"] where v[req] == nil {
            throw ConvError.invalidShape("layer '\(text)': missing \(req.uppercased())=")
        }
        return try ConvGeometry(
            n: v["n"] ?? 1, h: v["h"]!, w: v["w"] ?? v["h"]!, c: v["c"]!, k: v["k"]!,
            r: v["r"]!, s: v["s"], stride: v["stride"] ?? 1, strideW: strideW, padding: pad)
    }
}
