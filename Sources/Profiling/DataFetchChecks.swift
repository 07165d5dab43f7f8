import Foundation
import KerasWeights
import Training

/// The checks for fetched files whose publisher gives no digest (the catalog's `checked_by`):
/// Keras weights are verified by loading every layer of the base they are for, shapes exact.
public enum DataFetchChecks {
    public static func standard(profiles: ProfilesFolder?) -> [String: (URL) throws -> Void] {
        var checks: [String: (URL) throws -> Void] = [:]
        for base in ["mobilenetv2", "vgg16"] {
            checks["keras-weights:\(base)"] = { file in
                let p = try ProfilesFolder.model(base, in: profiles)
                let model = try ModelBuilder.build(p, input: p.inputShape ?? [224, 224, 3], includeHead: false)
                let s = try KerasWeightImporter.load(file.path, into: model)
                guard s.layers.count == model.layers.filter({ !$0.parameters.isEmpty }).count else {
                    throw WorkflowError("only \(s.layers.count) layers of \(base) have weights in the file")
                }
            }
        }
        return checks
    }
}
