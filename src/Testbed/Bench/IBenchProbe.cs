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

    /// <summary>Measures, within about <see cref="BenchSettings.Budget"/>.</summary>
    PolicyRun Run(BenchSettings settings);
}
