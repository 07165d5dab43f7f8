import ArgumentParser
import Figures
import Profiling

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Print a model's layers as Keras' model.summary() does, with FLOPs and bytes per image.",
        discussion: """
            Layer, output shape and parameters as Keras reports them (total, trainable and non-trainable), plus two \
            modelled columns per layer for one image: forward FLOPs and the minimum bytes moved (input and parameters \
            read once, output written once).
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(
        help: """
            The input shape, 28x28x1 (MNIST-like) or 32x32x3 (CIFAR-10); the default is the profile's own input_shape \
            (224x224x3 for mobilenetv2 and vgg16), else 28x28x1.
            """)
    var inputShape: String?
    @Flag(
        help: """
            For a base (a profile with a head: section, such as mobilenetv2), include the classifier head; without it \
            the summary is Keras's include_top=False model.
            """)
    var withHead = false
    @Flag(help: "Print JSON instead of a table.") var json = false

    func validate() throws { _ = try parsedInputShape(inputShape) }

    func run() throws {
        let summary = try ModelSummary(
            try ProfilesFolder.model(modelOptions.model, in: Console.profiles),
            inputShape: try parsedInputShape(inputShape),
            withHead: withHead)
        print(json ? try JSONText.pretty(summary) : summary.text)
    }
}
