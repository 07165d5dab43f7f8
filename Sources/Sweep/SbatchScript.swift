/// One machine group's job array: a task per (model, setting), whole nodes (exclusive) so that
/// measurements do not share the machine, logs under the sweep folder, and each task's exit
/// status written atomically to `status/<task>.exit` when the command ends.
public enum SbatchScript {
    public static func render(
        group g: SweepGroup, tasks: [SweepTask], folder: String, version: String, createdAt: String
    )
        -> String
    {
        var s = "#!/bin/bash\n"
        s += "#SBATCH --job-name=cnnscope-\(g.name)\n"
        s += "#SBATCH --array=0-\(max(tasks.count - 1, 0))\n"
        s += "#SBATCH --nodes=1\n#SBATCH --ntasks=1\n#SBATCH --exclusive\n"
        s += "#SBATCH --cpus-per-task=\(tasks.map(\.threads).max() ?? 1)\n"
        s += "#SBATCH --output=\(folder)/logs/\(g.name)-%A_%a.out\n"
        if let p = g.partition { s += "#SBATCH --partition=\(p)\n" }
        if let c = g.constraint { s += "#SBATCH --constraint=\(c)\n" }
        s += """
            # Planned by cnnscope \(version) at \(createdAt): machine group '\(g.name)', \(tasks.count) tasks.
            # Every task profiles on the node it lands on; cnnscope names the run folder after that
            # node's machine identity ({machine}) and keeps the node's ceilings in its own cache.
            set -u
            sweep=\(ShellQuote.word(folder))
            mkdir -p "$sweep/status"
            case "${SLURM_ARRAY_TASK_ID:-}" in

            """
        for t in tasks { s += "  \(t.index)) cmd=(\(ShellQuote.line(t.command))) ;;\n" }
        s += """
              *) echo "cnnscope sweep: no task ${SLURM_ARRAY_TASK_ID:-(unset)} in this array" >&2; exit 2 ;;
            esac
            task=\(g.name)-$SLURM_ARRAY_TASK_ID
            echo "cnnscope sweep: task $task on $(hostname): ${cmd[*]}"
            "${cmd[@]}"
            rc=$?
            echo "$rc" > "$sweep/status/$task.exit.tmp" && mv "$sweep/status/$task.exit.tmp" "$sweep/status/$task.exit"
            exit $rc

            """
        return s
    }
}
