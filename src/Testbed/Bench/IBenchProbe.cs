using Testbed.Results;

namespace Testbed.Bench;

/// <summary>
/// One hot path of the ratio suite: it measures the path against the physical operation it models
/// (or an absolute rate) and returns a run whose metrics are checked against <see cref="Targets"/>,
/// each by a <c>target METRIC</c> invariant.
/// </summary>
public interface IBenchProbe
{
    /// <summary>The probe's name, as <c>--filter</c> matches it.</summary>
    string Name { get; }

    /// <summary>What is measured.</summary>
    string Summary { get; }

    /// <summary>The targets, each on one metric of the run.</summary>
    IReadOnlyList<BenchTarget> Targets { get; }

    /// <summary>
    /// Why the probe cannot run here, or null when it can: the bench leaves such a probe out and names
    /// it, with the reason, in the result's <c>not_run</c> parameter, and every other probe still runs.
    /// </summary>
    string? Unavailable => null;

    /// <summary>Measures, within about <see cref="BenchSettings.Budget"/>.</summary>
    PolicyRun Run(BenchSettings settings);
}
