import Layers
import Tensor

/// Keras HDF5 weight files: Keras 3's `.weights.h5` (and the `model.weights.h5` inside a `.keras`
/// archive: `/layers/<layer>/vars/<i>`, each layer's variables in Keras's order, which is the
/// order of cnnscope's parameters), and the Keras 2 layout `model.save_weights("x.h5")` and
/// keras.applications use (`*_weights_tf_dim_ordering_tf_kernels_notop.h5`, cached under ~/.keras/models/):
/// the root attribute `layer_names`; per layer a group with the attribute `weight_names`
/// ("Conv1/kernel:0", ...); each weight a float dataset at /<layer>/<weight name>.
/// Layers are matched by name, weights by their last name part (kernel, bias,
/// depthwise_kernel, gamma, beta, moving_mean, moving_variance), shapes checked exactly
/// (Keras kernels are HWIO and (in, out), as cnnscope's).
public enum KerasWeightImporter {
    public struct Summary: Equatable {
        /// Layers whose weights were loaded.
        public var layers: [String] = []
        public var parameters = 0
        /// Layers of the file the model does not have (the classifier of a with-top file).
        public var ignored: [String] = []
        /// Model layers with parameters the file does not have, allowed because not required (a new head).
        public var notInFile: [String] = []
    }

    /// Loads every layer the file has into `model`. `required`: model layers that must be in
    /// the file (the base; nil: every layer with parameters). Errors name the file, the layer,
    /// the weight and the shapes; nothing is changed when an error is found.
    public static func load(_ path: String, into model: Sequential, required: Set<String>? = nil) throws -> Summary {
        let file = try HDF5File(reading: path)
        guard let names = try file.stringsAttribute("layer_names") else {
            if file.exists("/layers") { return try loadKeras3(file, into: model, required: required) }
            throw HDF5Error("\(path): no 'layer_names' attribute at the root: not a Keras weight file")
        }
        var byName: [String: Layer] = [:]
        for l in model.layers { byName[l.name] = l }
        var summary = Summary()
        var staged: [(Parameter, [Float])] = []
        var matched = Set<String>()
        for layerName in names {
            let weightNames = try file.stringsAttribute("weight_names", of: "/" + layerName) ?? []
            if weightNames.isEmpty { continue }
            guard let layer = byName[layerName] else { summary.ignored.append(layerName); continue }
            for w in weightNames {
                let short = String((w.split(separator: "/").last ?? Substring(w)).split(separator: ":").first ?? "")
                guard let p = layer.parameters.first(where: { $0.name == short }) else {
                    throw HDF5Error(
                        """
                        \(path): layer '\(layerName)' has weight '\(w)', but the model's \(layer.kerasClass) \
                        '\(layerName)' has only \(layer.parameters.map(\.name).joined(separator: ", "))
                        """
                    )
                }
                let (dims, values) = try file.floats("/\(layerName)/\(w)")
                guard dims == p.value.shape.dims else {
                    throw HDF5Error(
                        """
                        \(path): layer '\(layerName)' weight '\(w)' has shape \(dims), the model expects \
                        \(p.value.shape.dims); the file is for another architecture or input channels
                        """
                    )
                }
                staged.append((p, values))
            }
            if let missing = layer.parameters.first(where: { p in
                !weightNames.contains {
                    ($0.split(separator: "/").last ?? "").hasPrefix(p.name + ":")
                        || ($0.split(separator: "/").last ?? "") == p.name
                }
            }) {
                throw HDF5Error(
                    """
                    \(path): layer '\(layerName)' has no weight '\(missing.name)' (it has \
                    \(weightNames.joined(separator: ", ")))
                    """
                )
            }
            matched.insert(layerName)
            summary.layers.append(layerName)
        }
        for l in model.layers where !l.parameters.isEmpty && !matched.contains(l.name) {
            if required == nil || required!.contains(l.name) {
                throw HDF5Error(
                    """
                    \(path): no weights for layer '\(l.name)' (\(l.kerasClass)); the file has \(names.count) \
                    layers, e.g. \(names.prefix(3).joined(separator: ", ")); is it the file for \(model.name)?
                    """
                )
            }
            summary.notInFile.append(l.name)
        }
        for (p, values) in staged {
            values.withUnsafeBufferPointer { p.value.data.update(from: $0.baseAddress!, count: values.count) }
            p.version += 1
            summary.parameters += values.count
        }
        return summary
    }

    /// Keras 3: `/layers/<name>/vars/<i>` for each model layer with parameters, matched by layer
    /// name and variable position, shapes checked exactly; nothing is changed when an error is found.
    static func loadKeras3(_ file: HDF5File, into model: Sequential, required: Set<String>?) throws -> Summary {
        let path = file.path
        let inFile = Set(try file.children("/layers"))
        var summary = Summary()
        var staged: [(Parameter, [Float])] = []
        for l in model.layers where !l.parameters.isEmpty {
            let vars = "/layers/\(l.name)/vars"
            guard inFile.contains(l.name), file.exists(vars) else {
                if required == nil || required!.contains(l.name) {
                    throw HDF5Error(
                        """
                        \(path): no weights for layer '\(l.name)' (\(l.kerasClass)); the file has \(inFile.count) \
                        layers, e.g. \(inFile.sorted().prefix(3).joined(separator: ", ")); is it the file for \
                        \(model.name)?
                        """)
                }
                summary.notInFile.append(l.name)
                continue
            }
            let count = try file.children(vars).count
            guard count == l.parameters.count else {
                throw HDF5Error(
                    """
                    \(path): layer '\(l.name)' has \(count) variables, the model's \(l.kerasClass) has \
                    \(l.parameters.count) (\(l.parameters.map(\.name).joined(separator: ", "))); check use_bias, \
                    center and scale
                    """)
            }
            for (i, p) in l.parameters.enumerated() {
                let (dims, values) = try file.floats("\(vars)/\(i)")
                guard dims == p.value.shape.dims else {
                    throw HDF5Error(
                        """
                        \(path): layer '\(l.name)' variable \(i) (\(p.name)) has shape \(dims), the model expects \
                        \(p.value.shape.dims); the file is for another architecture or input channels
                        """)
                }
                staged.append((p, values))
            }
            summary.layers.append(l.name)
        }
        let names = Set(model.layers.map(\.name))
        summary.ignored = inFile.filter { !names.contains($0) && file.exists("/layers/\($0)/vars/0") }.sorted()
        for (p, values) in staged {
            values.withUnsafeBufferPointer { p.value.data.update(from: $0.baseAddress!, count: values.count) }
            p.version += 1
            summary.parameters += values.count
        }
        return summary
    }

    /// Writes `model`'s weights in the same layout (what tf.keras's save_weights writes), so a
    /// Keras user can load cnnscope's trained weights by name.
    public static func save(_ model: Sequential, to path: String) throws {
        let file = try HDF5File(creating: path)
        try file.writeStrings(model.layers.map(\.name), attribute: "layer_names")
        try file.writeStrings(["tensorflow"], attribute: "backend")
        for l in model.layers {
            let names = l.parameters.map { "\(l.name)/\($0.name):0" }
            try file.createGroups("/" + l.name)
            try file.writeStrings(names, attribute: "weight_names", of: "/" + l.name)
            for (p, n) in zip(l.parameters, names) {
                try file.write(p.value.array, dims: p.value.shape.dims, to: "/\(l.name)/\(n)")
            }
        }
    }
}
