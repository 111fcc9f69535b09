using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Conformance;

/// <summary>
/// What every accelerator must do the same: the conformance kernels' results, host memory mapped in
/// place, copies, the link (emulated and native), and ILGPU.Algorithms where they run. The xunit
/// tests run each check on every accelerator of the machine; <c>testbed conformance</c> runs them on
/// one, so an accelerator can be checked where the SDK is not installed (a GPU machine with only a
/// self-contained testbed, as <c>scripts/gpu-check.sh</c> uses). The checks are grouped by what they
/// cover, one file each: kernels, memory, the link, algorithms.
/// </summary>
public static partial class ConformanceSuite
{
    private static readonly Lazy<IReadOnlyList<ConformanceCheck>> s_all = new(() => [.. KernelChecks, .. MemoryChecks, .. LinkChecks, .. AlgorithmChecks]);

    /// <summary>Every check, in the order they run.</summary>
    public static IReadOnlyList<ConformanceCheck> All => s_all.Value;

    /// <summary>The check named <paramref name="name"/>.</summary>
    public static ConformanceCheck Find(string name) =>
        All.FirstOrDefault(c => c.Name == name) ?? throw new ArgumentException($"ConformanceSuite: no check named '{name}'.", nameof(name));

    /// <summary>Runs <paramref name="check"/> on <paramref name="runner"/>; an exception it throws is a failed outcome naming it.</summary>
    public static ConformanceOutcome Run(ConformanceCheck check, KernelRunner runner)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(runner);
        try
        {
            return check.Run(runner);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return ConformanceOutcome.Fail($"{e.GetType().Name}: {e.Message}");
        }
    }
}
