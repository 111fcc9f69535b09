using Testbed.Bench.Probes;
using Testbed.Kernels.Accelerators;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench;

/// <summary>
/// <c>testbed bench</c>'s ratio suite (issue 7, DESIGN §7) as a scenario: one run per hot path and
/// accelerator, each with <c>target METRIC</c> invariants, so the JSON, the report and the exit
/// code work as for any scenario (exit 1 when a target is missed). CI size is <c>--quick</c>.
/// </summary>
/// <param name="filter">Runs only the probes whose name contains this text; null runs all.</param>
/// <param name="ilgpuCpu">The shape of the ilgpu-cpu accelerator measured for information (null: its default).</param>
public sealed class BenchScenario(string? filter = null, IlgpuCpuSettings? ilgpuCpu = null) : IScenario
{
    /// <summary>Every probe's name (the per-accelerator ones once).</summary>
    public static IReadOnlyList<string> Names { get; } = ["cpu-access", "first-touch", "swap-fault", "migrate-vma", "hmm-range-fault", "fault-batch", "thp", "kernel-launch", "kernel-atomics", "pingpong", "explore"];

    /// <summary>Whether the filter leaves any probe to run.</summary>
    public bool Matches => Names.Any(Selected);

    /// <inheritdoc/>
    public string Name => "bench";

    /// <inheritdoc/>
    public string Summary => "the ratio suite: every hot path against the physical operation it models, with its target";

    /// <inheritdoc/>
    /// <remarks>
    /// The bench takes no <c>--pages</c>: its worlds are fixed, at most 65536 pages with <c>--quick</c>
    /// and 1,048,576 in a full run (the runs in docs/results/bench-cpu.md fit a 24 GiB machine), so
    /// there is nothing to refuse up front.
    /// </remarks>
    public MemoryNeed Memory(ScenarioSettings settings) => new(0, 0);

    /// <inheritdoc/>
    public IReadOnlyList<ScenarioOption> Options { get; } = [];

    /// <inheritdoc/>
    public SharedOptions Takes => SharedOptions.None;

    /// <summary>
    /// The probes, in the order they run; the migration, THP, the launch and the kernel atomics once
    /// per accelerator. One that cannot run here (<see cref="IBenchProbe.Unavailable"/>: <c>explore</c>
    /// in a published testbed) is left out and named in the result's <c>not_run</c>.
    /// </summary>
    public static IReadOnlyList<IBenchProbe> Probes(AcceleratorEntry cpu, IReadOnlyList<AcceleratorEntry> others) =>
    [
        new CpuAccessProbe(),
        new FirstTouchProbe(),
        new SwapFaultProbe(),
        new MigrateVmaProbe(cpu),
        .. others.Select(d => new MigrateVmaProbe(d)),
        new HmmRangeFaultProbe(),
        new FaultBatchProbe(),
        new ThpProbe(cpu),
        .. others.Select(d => new ThpProbe(d)),
        new LaunchProbe(cpu),
        .. others.Select(d => new LaunchProbe(d)),
        new KernelAtomicsProbe(cpu),
        .. others.Select(d => new KernelAtomicsProbe(d)),
        new PingpongProbe(),
        new ExploreProbe(),
    ];

    /// <inheritdoc/>
    public ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var settings = Settings(context, Others(ilgpuCpu));
        var runs = new List<PolicyRun>();
        var notRun = new List<string>();
        foreach (var probe in Probes(settings.Cpu, settings.Others).Where(p => Selected(p.Name)))
        {
            if (probe.Unavailable is { } why)
            {
                notRun.Add($"{probe.Name}: {why}");
                continue;
            }

            context.Status($"bench: {probe.Name}");
            runs.Add(probe.Run(settings));
        }

        var parameters = new Dictionary<string, string>
        {
            ["kind"] = "targets",
            ["size"] = settings.Quick ? "quick" : "full",
            ["accelerators"] = string.Join(",", new[] { settings.Cpu }.Concat(settings.Others).Select(d => d.Kind.Name())),
        };
        if (notRun.Count > 0)
        {
            parameters["not_run"] = string.Join("; ", notRun);
        }

        return new ScenarioResult(Name, parameters, runs);
    }

    /// <summary>The accelerators besides the direct cpu runner that the per-accelerator probes run on: ILGPU's CPU accelerator (information only) and every available GPU.</summary>
    public static IReadOnlyList<AcceleratorEntry> Others(IlgpuCpuSettings? ilgpuCpu = null) =>
        [AcceleratorCatalog.IlgpuCpu(ilgpuCpu), .. AcceleratorCatalog.Cuda.Concat(AcceleratorCatalog.OpenCl).Where(e => e.IsAvailable)];

    private bool Selected(string name) => filter is null || name.Contains(filter, StringComparison.Ordinal);

    /// <summary>The bench settings of a scenario context: quick at CI size, on the context's accelerator.</summary>
    public static BenchSettings Settings(ScenarioContext context, IReadOnlyList<AcceleratorEntry> others)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new BenchSettings(context.Settings.Size == RunSize.Ci, context.Accelerator, others, context.Status);
    }
}
