/// Evaluates at import the nodes whose inputs are all known: Constant, and the shape subgraphs
/// exporters emit around a classifier's Reshape (Shape → Gather → Unsqueeze → Concat → Reshape),
/// plus Cast of a constant (float16 weights widened by a Cast node).
enum OnnxConstantFolder {
    /// Folds `n` into `env` when it can; false when the node computes on the model's data.
    static func fold(_ n: Onnx_NodeProto, env: inout [String: OnnxValue], importer: OnnxGraphImporter) throws -> Bool {
        let file = importer.file, opset = importer.opset
        func fail(_ why: String) -> OnnxError { OnnxError.node(file, n, opset: opset, why) }
        func const(_ i: Int) -> OnnxConstant? {
            guard let name = n.input(i), case .constant(let c)? = env[name] else { return nil }
            return c
        }
        let known = n.input.enumerated().allSatisfy { $0.element.isEmpty || const($0.offset) != nil }
        var result: OnnxConstant?
        switch n.opType {
        case "Constant":
            guard let a = n.attribute.first else { throw fail("a Constant without a value") }
            switch a.name {
            case "value": result = try OnnxConstant(a.t, folder: importer.folder, file: file)
            case "value_float": result = OnnxConstant(dims: [], floats: [a.f])
            case "value_floats": result = OnnxConstant(dims: [a.floats.count], floats: a.floats)
            case "value_int": result = OnnxConstant(dims: [], ints: [a.i])
            case "value_ints": result = OnnxConstant(dims: [a.ints.count], ints: a.ints)
            default: throw fail("a Constant of kind '\(a.name)' is not supported")
            }
        case "Shape":
            guard let name = n.input(0), case .runtime(let t)? = env[name] else { return false }
            var dims = t.onnxShape.map(Int64.init)
            let start = n.int("start", default: 0), end = n.int("end", default: dims.count)
            let lo = start < 0 ? start + dims.count : start, hi = end < 0 ? end + dims.count : min(end, dims.count)
            dims = lo < hi ? Array(dims[lo..<hi]) : []
            result = OnnxConstant(dims: [dims.count], ints: dims)
        case _ where !known:
            return false
        case "Cast", "Identity":
            guard let c = const(0) else { return false }
            let to = n.int("to", default: 1)
            result =
                n.opType == "Identity"
                ? c
                : ([1, 10, 11, 16].contains(to)
                    ? OnnxConstant(dims: c.dims, floats: c.values)
                    : OnnxConstant(dims: c.dims, ints: c.integers))
        case "Gather":
            guard let data = const(0), let idx = const(1) else { return false }
            guard data.dims.count == 1, n.int("axis", default: 0) == 0 else {
                throw fail("Gather of constants is folded for 1-D data only")
            }
            let v = data.integers, count = Int64(v.count)
            let picked = try idx.integers.map { i -> Int64 in
                let j = i < 0 ? i + count : i
                guard j >= 0 && j < count else { throw fail("index \(i) is outside the \(count) values") }
                return v[Int(j)]
            }
            result = OnnxConstant(dims: idx.dims, ints: picked)
        case "Unsqueeze", "Squeeze":
            guard let c = const(0) else { return false }
            let axes = opset < 13 ? (n.ints("axes") ?? []) : (const(1)?.integers.map(Int.init) ?? [])
            var dims = c.dims
            if n.opType == "Unsqueeze" {
                for a in axes.map({ $0 < 0 ? $0 + dims.count + axes.count : $0 }).sorted() {
                    dims.insert(1, at: min(a, dims.count))
                }
            } else {
                dims = dims.enumerated().filter { d in
                    axes.isEmpty ? d.element != 1 : !axes.map { $0 < 0 ? $0 + c.dims.count : $0 }.contains(d.offset)
                }.map(\.element)
            }
            result = c
            result?.dims = dims
        case "Concat":
            let parts = n.input.indices.compactMap(const)
            guard parts.allSatisfy({ $0.dims.count <= 1 }) else {
                throw fail("Concat of constants is folded for 1-D values only")
            }
            let floats = parts.contains { $0.floats != nil && $0.ints == nil }
            let total = parts.reduce(0) { $0 + $1.count }
            result =
                floats
                ? OnnxConstant(dims: [total], floats: parts.flatMap(\.values))
                : OnnxConstant(dims: [total], ints: parts.flatMap(\.integers))
        case "Reshape":
            guard let c = const(0), let shape = const(1) else { return false }
            var dims = shape.integers.map(Int.init)
            if let i = dims.firstIndex(of: -1) {
                let known = dims.enumerated().filter { $0.offset != i }.reduce(1) { $0 * max($1.element, 1) }
                dims[i] = c.count / max(known, 1)
            }
            result = c
            result?.dims = dims
        default:
            return false
        }
        if let r = result, let o = n.output.first { env[o] = .constant(r) }
        return result != nil
    }
}
