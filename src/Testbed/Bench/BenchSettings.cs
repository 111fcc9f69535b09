using Testbed.Kernels.Accelerators;

namespace Testbed.Bench;

/// <summary>How long the ratio suite measures: <c>--quick</c> fits the whole suite in a minute on 2 cores.</summary>
/// <param name="Quick">Smaller sizes and shorter budgets.</param>
/// <param name="Cpu">The direct cpu runner's accelerator, which every probe runs on.</param>
/// <param name="Others">The other accelerators the probes measured per accelerator run on: <c>ilgpu-cpu</c>, for information, and every available GPU.</param>
/// <param name="Status">Reports what is being measured (progress on a terminal).</param>
/// <param name="BudgetOverride">Time per probe instead of the default (tests use a few milliseconds).</param>
public sealed record BenchSettings(bool Quick, AcceleratorEntry Cpu, IReadOnlyList<AcceleratorEntry> Others, Action<string>? Status = null, TimeSpan? BudgetOverride = null)
{
    /// <summary>A scenario context on <paramref name="accelerator"/> (the cpu one by default), for probes that build a <see cref="Scenarios.ScenarioRig"/>.</summary>
    public Scenarios.ScenarioContext Context(AcceleratorEntry? accelerator = null, Scenarios.ScenarioSettings? settings = null) => new(settings ?? new Scenarios.ScenarioSettings(), accelerator ?? Cpu);

    /// <summary>
    /// Whether the probes on <paramref name="accelerator"/> are information only, with no target:
    /// ILGPU's CPU accelerator is measured so a user sees its price, not held to the direct runner's targets.
    /// </summary>
    public static bool Informational(AcceleratorEntry accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        return accelerator.Kind == AcceleratorKind.IlgpuCpu;
    }

    /// <summary>HostMm as the probes run it: the lock validator off, as in production builds (the scenarios run it on).</summary>
    public static HostMm.HostKernelOptions Kernel(long bytes = 64L << 20) => new() { MemoryBytes = bytes, ValidateLocks = false };

    /// <summary>Time each probe spends measuring.</summary>
    public TimeSpan Budget => BudgetOverride ?? (Quick ? TimeSpan.FromMilliseconds(600) : TimeSpan.FromSeconds(3));

    /// <summary>Picks the quick or the full value.</summary>
    public T Pick<T>(T quick, T full) => Quick ? quick : full;
}
