using Testbed.Bench.Probes;
using Testbed.Kernels;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench;

/// <summary>
/// <c>testbed bench</c>'s ratio suite (issue 7, DESIGN §7) as a scenario: one run per hot path and
/// accelerator, each with <c>target METRIC</c> invariants, so the JSON, the report and the exit
/// code work as for any scenario (exit 1 when a target is missed). CI size is <c>--quick</c>.
/// </summary>
/// <param name="filter">Runs only the probes whose name contains this text; null runs all.</param>
public sealed class BenchScenario(string? filter = null) : IScenario
{
    /// <summary>Every probe's name (the per-accelerator ones once).</summary>
    public static IReadOnlyList<string> Names { get; } = ["cpu-access", "first-touch", "swap-fault", "migrate-vma", "hmm-range-fault", "fault-batch", "kernel-atomics", "pingpong"];

    /// <summary>Whether the filter leaves any probe to run.</summary>
    public bool Matches => Names.Any(Selected);

    /// <inheritdoc/>
    public string Name => "bench";

    /// <inheritdoc/>
    public string Summary => "the ratio suite: every hot path against the physical operation it models, with its target";

    /// <inheritdoc/>
    public IReadOnlyList<ScenarioOption> Options { get; } = [];

    /// <summary>The probes, in the order they run; the migration and kernel atomics once per available accelerator.</summary>
    public static IReadOnlyList<IBenchProbe> Probes(Device cpu, IReadOnlyList<Device> others) =>
    [
        new CpuAccessProbe(),
        new FirstTouchProbe(),
        new SwapFaultProbe(),
        new MigrateVmaProbe(cpu),
        .. others.Select(d => new MigrateVmaProbe(d)),
        new HmmRangeFaultProbe(),
        new FaultBatchProbe(),
        new KernelAtomicsProbe(cpu),
        .. others.Select(d => new KernelAtomicsProbe(d)),
        new PingpongProbe(),
    ];

    /// <inheritdoc/>
    public ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var kernels = Context.CreateDefault();
        var others = Others(kernels);
        var settings = Settings(context, others);
        var runs = new List<PolicyRun>();
        foreach (var probe in Probes(settings.Cpu, others).Where(p => Selected(p.Name)))
        {
            context.Status($"bench: {probe.Name}");
            runs.Add(probe.Run(settings));
        }

        return new ScenarioResult(Name, new Dictionary<string, string>
        {
            ["kind"] = "targets",
            ["size"] = settings.Quick ? "quick" : "full",
            ["accelerators"] = string.Join(",", new[] { settings.Cpu }.Concat(others).Select(d => d.AcceleratorType.ToString().ToLowerInvariant())),
        }, runs);
    }

    /// <summary>The available devices besides the Cpu one, which the per-accelerator probes and curves run on too.</summary>
    public static IReadOnlyList<Device> Others(Context kernels)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        return [.. kernels.Devices.Where(d => d.IsAvailable && d.AcceleratorType != AcceleratorType.Cpu)];
    }

    private bool Selected(string name) => filter is null || name.Contains(filter, StringComparison.Ordinal);

    /// <summary>The bench settings of a scenario context: quick at CI size, on the context's Cpu device.</summary>
    public static BenchSettings Settings(ScenarioContext context, IReadOnlyList<Device> others)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new BenchSettings(context.Settings.Size == RunSize.Ci, context.Device, others, context.Status);
    }
}
